import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { programArgs } from './program.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

function freePort (): Promise<number> {
  return new Promise(resolve => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

export interface Devnet {
  child: ChildProcess
  output (): string
  /** Resolves once `text` has been printed; rejects after withinMs or when the devnet exits. */
  printed (text: string, withinMs: number): Promise<void>
  stop (): Promise<string>
}

/**
 * Runs the devnet as `npm start` does: compiled when dist/ is a fresh build, else from source
 * through tsx (SOURCE=1 forces the source); its roles run the same way.
 */
export async function startDevnet (home: string): Promise<Devnet> {
  const env = { METRICS_PORT: String(await freePort()), WEB_SERVICE_PORT: String(await freePort()) }
  const child = spawn(process.execPath, programArgs('scripts/devnet'), {
    cwd: ROOT, env: { ...process.env, ...env, HYPERINFER_HOME: home, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout!.on('data', chunk => { output += chunk })
  child.stderr!.on('data', chunk => { output += chunk })
  const closed = new Promise<string>(resolve => child.once('close', (code, signal) => resolve(signal ?? `exit ${code}`)))
  return {
    child,
    output: () => output,
    printed: (text, withinMs) => new Promise((resolve, reject) => {
      const check = (): void => {
        if (!output.includes(text)) return
        done()
        resolve()
      }
      const timer = setTimeout(() => { done(); reject(new Error(`"${text}" not printed within ${withinMs} ms:\n${output.slice(-3000)}`)) }, withinMs)
      const onExit = (): void => { done(); reject(new Error(`devnet exited before printing "${text}":\n${output.slice(-3000)}`)) }
      const done = (): void => {
        clearTimeout(timer)
        child.stdout!.off('data', check)
        child.stderr!.off('data', check)
        child.off('exit', onExit)
      }
      child.stdout!.on('data', check)
      child.stderr!.on('data', check)
      child.once('exit', onExit)
      check()
    }),
    stop: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT')
      return closed
    }
  }
}

/** The devnet's child running `services/main <role>` (from source or compiled). */
export function rolePid (devnetPid: number, role: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (parent !== devnetPid) continue
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0')
      const main = args.findIndex(arg => /services[/\\]main\.(ts|js)$/.test(arg))
      if (main >= 0 && args[main + 1] === role) return Number(entry)
    } catch { /* gone meanwhile */ }
  }
  return null
}
