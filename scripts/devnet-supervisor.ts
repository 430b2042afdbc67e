import { spawn, type ChildProcess } from 'node:child_process'
import { EventEmitter } from 'node:events'

export interface SupervisedProcess {
  name: string
  command: string
  args: string[]
  cwd: string
  env: NodeJS.ProcessEnv
}

export interface SupervisorOptions {
  /** Restarts allowed within windowMs; one more and the process is reported failed and left down. */
  maxRestarts?: number
  windowMs?: number
  initialBackoffMs?: number
  maxBackoffMs?: number
  log?: (line: string) => void
}

/**
 * Keeps a devnet's role processes running: one that exits on its own is restarted with backoff,
 * at most maxRestarts times a windowMs, then reported failed. Emits 'start' (name, pid),
 * 'exit' (name, code or signal), 'failed' (name).
 */
export class Supervisor extends EventEmitter {
  private readonly opts: Required<SupervisorOptions>
  private readonly children = new Map<string, ChildProcess>()
  private readonly restarts = new Map<string, number[]>()
  private readonly pending = new Map<string, NodeJS.Timeout>()
  private readonly failedNames = new Set<string>()
  private stopping = false

  constructor (opts: SupervisorOptions = {}) {
    super()
    this.opts = {
      maxRestarts: 5,
      windowMs: 60_000,
      initialBackoffMs: 500,
      maxBackoffMs: 10_000,
      log: line => { console.error(line) },
      ...opts
    }
  }

  get failed (): string[] { return [...this.failedNames] }

  pid (name: string): number | undefined {
    return this.children.get(name)?.pid
  }

  start (proc: SupervisedProcess): void {
    if (this.stopping) return
    const child = spawn(proc.command, proc.args, { cwd: proc.cwd, env: proc.env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.children.set(proc.name, child)
    this.emit('start', proc.name, child.pid)
    child.on('error', err => { this.opts.log(`devnet: could not start ${proc.name}: ${err.message}`) })
    child.on('exit', (code, signal) => {
      if (this.children.get(proc.name) === child) this.children.delete(proc.name)
      this.emit('exit', proc.name, signal ?? code)
      if (!this.stopping) this.restartLater(proc, signal ?? code)
    })
  }

  /** SIGTERM every child (SIGKILL after graceMs) and wait for all of them. */
  async stop (graceMs = 15_000): Promise<void> {
    this.stopping = true
    for (const timer of this.pending.values()) clearTimeout(timer)
    this.pending.clear()
    await Promise.all([...this.children.values()].map(child => new Promise<void>(resolve => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      const kill = setTimeout(() => { child.kill('SIGKILL') }, graceMs)
      child.once('exit', () => { clearTimeout(kill); resolve() })
      child.kill('SIGTERM')
    })))
  }

  private restartLater (proc: SupervisedProcess, how: string | number | null): void {
    const now = Date.now()
    const recent = (this.restarts.get(proc.name) ?? []).filter(at => now - at < this.opts.windowMs)
    if (recent.length >= this.opts.maxRestarts) {
      this.failedNames.add(proc.name)
      this.opts.log(`devnet: ${proc.name} exited (${how}) and was restarted ${recent.length} times in the last ${Math.round(this.opts.windowMs / 1000)} s; leaving it down (FAILED). Its log is above; stop with Ctrl-C.`)
      this.emit('failed', proc.name)
      return
    }
    recent.push(now)
    this.restarts.set(proc.name, recent)
    const waitMs = Math.min(this.opts.maxBackoffMs, this.opts.initialBackoffMs * 2 ** (recent.length - 1))
    this.opts.log(`devnet: ${proc.name} exited (${how}); restarting in ${waitMs} ms (restart ${recent.length} of ${this.opts.maxRestarts} a minute)`)
    const timer = setTimeout(() => {
      this.pending.delete(proc.name)
      this.start(proc)
    }, waitMs)
    this.pending.set(proc.name, timer)
  }
}
