import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { NodeRole } from '../../shared/mesh/topic.js'
import { PACKAGE_ROOT, programEntry } from '../../shared/paths.js'
import { roleLaunch } from '../../shared/role/process-tuning.js'

/** Roles (and other named children, e.g. proxy) to run under --cpu-prof (comma-separated); profiles go to BENCH_PROFILE_DIR or the cwd. */
const PROFILED = new Set((process.env.BENCH_PROFILE ?? '').split(',').filter(Boolean))

/** Whether BENCH_PROFILE names this child. */
export function profiled (name: string): boolean {
  return PROFILED.has(name)
}

/** A signal to a benchmark (Ctrl-C, a CI timeout, kill) exits through its 'exit' handlers, which stop its children. */
export function exitOnSignals (): void {
  process.once('SIGINT', () => process.exit(130))
  process.once('SIGTERM', () => process.exit(143))
}

/** The child processes of one benchmark (roles, fakes, the CLI), in one temp home, stopped together. */
export class BenchProcesses {
  readonly home: string
  private readonly children: ChildProcess[] = []
  private readonly network: string
  private readonly env: NodeJS.ProcessEnv

  constructor (name: string, network: string, env: NodeJS.ProcessEnv = {}) {
    this.home = mkdtempSync(join(tmpdir(), `hyperinfer-${name}-`))
    this.network = network
    // The CLI's session goes in the bench's home too, never in the user's.
    this.env = { ...process.env, HYPERINFER_ENV: 'bench', OPENAI_API_KEY: 'sk-bench', LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'error', HYPERINFER_CONFIG_DIR: this.home, ...env }
    // However the benchmark ends, an error or a signal included, no child is left running and no data left behind.
    exitOnSignals()
    process.once('exit', () => {
      for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      rmSync(this.home, { recursive: true, force: true })
    })
  }

  /** `script` without extension: compiled, it runs from dist/ without tsx. */
  spawn (script: string, args: string[], profile = false, role = false): ChildProcess {
    const entry = programEntry(script)
    const profiling = profile ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_PROFILE_DIR ?? process.cwd()] : []
    const launch = role
      ? roleLaunch(entry, args, this.env, profiling)
      : { args: [...entry.execArgv, ...profiling, entry.file, ...args], env: this.env }
    const child = spawn(process.execPath, launch.args, { cwd: PACKAGE_ROOT, env: launch.env, stdio: ['ignore', 'ignore', 'inherit'] })
    this.children.push(child)
    return child
  }

  /** A role started as the devnet starts it: with the node flags and environment of a role's process. */
  startRole (role: NodeRole, bootstrap: string, args: string[] = []): ChildProcess {
    return this.spawn('services/main', [role, '--data-dir', join(this.home, role), '--home', this.home, '--network', this.network, '--bootstrap', bootstrap, ...args], profiled(role), true)
  }

  async stop (): Promise<void> {
    await Promise.all(this.children.map(child => new Promise<void>(resolve => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })))
    rmSync(this.home, { recursive: true, force: true })
  }
}

export function freePort (): Promise<number> {
  return new Promise(resolve => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
