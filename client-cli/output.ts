import type { Command } from 'commander'
import { CommanderError } from 'commander'
import { HyperinferError, type ErrorCode } from '../shared/errors.js'

/** What to do next, per error code, for people at a terminal. */
const NEXT_STEP: Partial<Record<ErrorCode, string>> = {
  UNAUTHENTICATED: 'log in again with `hyperinfer login`, or check your API key',
  FORBIDDEN: 'this needs another account or the admin role',
  RATE_LIMITED: 'wait and retry, or ask an admin for a bigger plan',
  QUOTA_EXCEEDED: 'your daily token quota is used up; it resets at midnight UTC',
  MODEL_UNAVAILABLE: 'list the models the mesh serves with `hyperinfer models`',
  TIMEOUT: 'the node did not answer in time; check `hyperinfer status`'
}

export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

/** Where the failing command looked for the mesh: hints name it, and the devnet only when it is one. */
export interface MeshTarget { description: string, devnet: boolean }

function nextStep (code: ErrorCode, target: MeshTarget | null): string | undefined {
  if (code === 'UNAVAILABLE') {
    if (!target || target.devnet) return 'is the mesh running? start the devnet with `npm start`'
    return `nothing answered on ${target.description}: check that the mesh's nodes run with the same --network and --network-secret, and that this host reaches the bootstrap (UDP) and a gateway`
  }
  if (code === 'TIMEOUT' && target && !target.devnet) return `a node on ${target.description} did not answer in time; check \`hyperinfer status\``
  return NEXT_STEP[code]
}

/** Resolves the program's mesh flags the way the command did, for the hint; null when they do not resolve. */
async function meshTarget (options: Record<string, unknown>): Promise<MeshTarget | null> {
  try {
    const [{ loadConfig }, network] = await Promise.all([import('../shared/config/load-config.js'), import('../shared/config/network.js')])
    const address = network.resolveMesh(loadConfig({ flags: network.meshConfigFromFlags(options) }))
    return { description: network.describeMesh(address), devnet: network.isDevnet(address) }
  } catch {
    return null
  }
}

export function formatError (err: unknown, target: MeshTarget | null = null): { text: string, json: object } {
  if (err instanceof HyperinferError) {
    const next = nextStep(err.code, target)
    const retry = err.retryAfterMs !== undefined ? ` (retry in ${Math.ceil(err.retryAfterMs / 1000)} s)` : ''
    return {
      text: `error ${err.code}: ${err.message}${retry}${next ? `\n  → ${next}` : ''}`,
      json: { error: err.toWire() }
    }
  }
  const message = (err as Error)?.message ?? String(err)
  return { text: `error: ${message}`, json: { error: { code: 'INTERNAL', message } } }
}

let keepAlive = false

/** For commands that start a long-running node: don't exit when the action returns. */
export function keepProcessAlive (): void {
  keepAlive = true
}

/**
 * A one-shot command exits as soon as its output is written: closed DHT sockets can hold the
 * event loop for seconds after the answer is on screen.
 */
function exitWhenFlushed (): void {
  if (keepAlive) return
  process.stdout.write('', () => { process.stderr.write('', () => process.exit()) })
}

/** Parses and runs the program; errors print with a next step (or as JSON with --json) and exit 1. */
export async function runCli (program: Command, argv: string[]): Promise<void> {
  program.exitOverride()
  try {
    await program.parseAsync(argv)
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode
      return exitWhenFlushed()
    }
    const needsTarget = err instanceof HyperinferError && (err.code === 'UNAVAILABLE' || err.code === 'TIMEOUT')
    const { text, json } = formatError(err, needsTarget ? await meshTarget(program.opts()) : null)
    if (program.opts().json) printJson(json)
    else process.stderr.write(text + '\n')
    process.exitCode = 1
  }
  exitWhenFlushed()
}
