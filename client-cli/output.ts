import type { Command } from 'commander'
import { CommanderError } from 'commander'
import { HyperinferError, type ErrorCode } from '../shared/errors.js'

/** What to do next, per error code, for people at a terminal. */
const NEXT_STEP: Partial<Record<ErrorCode, string>> = {
  UNAUTHENTICATED: 'log in again with `hyperinfer login`, or check your API key',
  FORBIDDEN: 'this needs another account or the admin role',
  RATE_LIMITED: 'wait and retry, or ask an admin for a bigger plan',
  QUOTA_EXCEEDED: 'your daily token quota is used up; it resets at midnight UTC',
  UNAVAILABLE: 'is the mesh running? start the devnet with `npm start`',
  MODEL_UNAVAILABLE: 'list the models the mesh serves with `hyperinfer models`',
  TIMEOUT: 'the node did not answer in time; check `hyperinfer status`'
}

export function printJson (value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n')
}

export function formatError (err: unknown): { text: string, json: object } {
  if (err instanceof HyperinferError) {
    const next = NEXT_STEP[err.code]
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
    const { text, json } = formatError(err)
    if (program.opts().json) printJson(json)
    else process.stderr.write(text + '\n')
    process.exitCode = 1
  }
  exitWhenFlushed()
}
