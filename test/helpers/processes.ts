import { spawn, type ChildProcess } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { formatBootstrap, type BootstrapNode } from '../../shared/mesh/dht.js'
import type { NodeRole } from '../../shared/mesh/topic.js'
import { programArgs } from './program.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface RoleProcess {
  child: ChildProcess
  /** SIGKILL: no shutdown code runs. */
  kill9 (): Promise<void>
  stop (): Promise<void>
}

/** Runs one role (services/main.ts <role>) as its own process on a test mesh. */
export function spawnRole (role: NodeRole, opts: { dataDir: string, network: string, bootstrap: BootstrapNode[], args?: string[], env?: NodeJS.ProcessEnv }): RoleProcess {
  const child = spawn(process.execPath, [
    ...programArgs('services/main'), role,
    '--data-dir', opts.dataDir,
    '--home', opts.dataDir,
    '--network', opts.network,
    '--bootstrap', formatBootstrap(opts.bootstrap).join(','),
    '--log-level', 'warn',
    ...(opts.args ?? [])
  ], { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', 'ignore', 'inherit'] })
  const exited = new Promise<void>(resolve => child.once('exit', () => resolve()))
  const signal = async (sig: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig)
    await exited
  }
  return { child, kill9: () => signal('SIGKILL'), stop: () => signal('SIGTERM') }
}
