import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

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
 * Runs the devnet as `npm start` does: compiled from dist/ when it was built, else from source
 * through tsx (SOURCE=1 forces the source).
 */
export async function startDevnet (home: string): Promise<Devnet> {
  const env = { METRICS_PORT: String(await freePort()), WEB_SERVICE_PORT: String(await freePort()) }
  const compiled = join(ROOT, 'dist', 'scripts', 'devnet.js')
  const entry = existsSync(compiled) && !process.env.SOURCE ? [compiled] : ['--import=tsx', join(ROOT, 'scripts', 'devnet.ts')]
  const child = spawn(process.execPath, entry, {
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

/** The devnet's child running services/<role>/main. */
export function rolePid (devnetPid: number, role: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      if (parent !== devnetPid) continue
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(`services/${role}/main`)) return Number(entry)
    } catch { /* gone meanwhile */ }
  }
  return null
}

