// Processes of the lab: each runs inside one namespace with `ip netns exec`, logs kept in memory
// (bounded) so scenarios can wait for a line.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'

export const ROOT = join(import.meta.dirname, '..', '..')
export const BIN = join(ROOT, 'client-cli', 'bin.js')
const MAX_LOG_CHARS = 1_000_000

export interface LabProcess {
  name: string
  child: ChildProcess
  stdout (): string
  stderr (): string
  /** Resolves with the first match of `pattern` in stdout+stderr; rejects after `timeoutMs` or if the process exits. */
  waitFor (pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>
  kill9 (): Promise<void>
  stop (): Promise<void>
  readonly exited: boolean
}

const keepTail = (text: string): string => text.length > MAX_LOG_CHARS ? text.slice(-MAX_LOG_CHARS / 2) : text

export function spawnIn (ns: string, name: string, command: string[], env: NodeJS.ProcessEnv = {}, stdin: 'ignore' | 'pipe' = 'ignore'): LabProcess {
  const child = spawn('ip', ['netns', 'exec', ns, ...command], {
    cwd: ROOT,
    env: { ...process.env, HYPERINFER_BOOTSTRAP: '', HYPERINFER_NETWORK: '', HYPERINFER_NETWORK_SECRET: '', HYPERINFER_JOIN: '', ...env },
    stdio: [stdin, 'pipe', 'pipe']
  })
  let out = ''
  let err = ''
  let exited = false
  const listeners = new Set<() => void>()
  const notify = (): void => { for (const fn of listeners) fn() }
  child.stdout!.on('data', chunk => { out = keepTail(out + chunk); notify() })
  child.stderr!.on('data', chunk => { err = keepTail(err + chunk); notify() })
  const exit = new Promise<void>(resolve => child.once('exit', () => { exited = true; notify(); resolve() }))
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (!exited) child.kill(sig)
    const force = setTimeout(() => { if (!exited) child.kill('SIGKILL') }, 15_000)
    await exit
    clearTimeout(force)
  }
  return {
    name,
    child,
    stdout: () => out,
    stderr: () => err,
    get exited () { return exited },
    waitFor (pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = (out + '\n' + err).match(pattern)
          if (match) return done(() => resolve(match))
          if (exited) done(() => reject(new Error(`${name} exited (code ${child.exitCode}, ${child.signalCode ?? 'no signal'}) before printing ${pattern}:\n${err.slice(-2000)}`)))
        }
        const timer = setTimeout(() => done(() => reject(new Error(`${name} did not print ${pattern} within ${timeoutMs} ms:\n${err.slice(-2000)}`))), timeoutMs)
        const done = (fn: () => void): void => {
          clearTimeout(timer)
          listeners.delete(check)
          fn()
        }
        listeners.add(check)
        check()
      })
    },
    kill9: () => signal('SIGKILL'),
    stop: () => signal('SIGTERM')
  }
}

/** Runs a one-shot CLI command in a namespace and collects its output. */
export function cliIn (ns: string, args: string[], env: NodeJS.ProcessEnv, input = '', timeoutMs = 60_000): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, BIN, ...args], {
      cwd: ROOT,
      env: { ...process.env, HYPERINFER_BOOTSTRAP: '', HYPERINFER_NETWORK: '', HYPERINFER_NETWORK_SECRET: '', HYPERINFER_JOIN: '', LOG_LEVEL: 'warn', ...env },
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', chunk => { stdout += chunk })
    child.stderr.on('data', chunk => { stderr += chunk })
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
    child.on('error', err => { clearTimeout(timer); reject(err) })
    child.on('close', code => { clearTimeout(timer); resolve({ code, stdout, stderr }) })
    child.stdin.end(input)
  })
}
