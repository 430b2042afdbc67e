import { spawn } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { writeDevnetInfo } from '../../shared/config/network.js'
import { formatBootstrap, type BootstrapNode } from '../../shared/mesh/dht.js'
import { programArgs } from './program.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
  /** stdout parsed as JSON (run with --json). */
  json<T = any> (): T // eslint-disable-line @typescript-eslint/no-explicit-any
}

export interface CliOptions {
  /** HYPERINFER_HOME: where devnet.json is. */
  home: string
  /** HYPERINFER_CONFIG_DIR: where session.json is. */
  configDir: string
  /** Written to stdin, then stdin is closed. */
  input?: string
  env?: NodeJS.ProcessEnv
  timeoutMs?: number
}

/** A home dir whose devnet.json points the CLI at a test mesh (no flags needed). */
export function writeTestDevnet (home: string, network: string, bootstrap: BootstrapNode[]): void {
  mkdirSync(home, { recursive: true })
  writeDevnetInfo(home, { network, bootstrap: formatBootstrap(bootstrap), pid: process.pid, startedAt: new Date().toISOString() })
}

/** Runs the CLI (`hyperinfer ...args`) as a child process: compiled when dist/ is fresh, else from source. */
export function runCli (args: string[], opts: CliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...programArgs('client-cli/main'), ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        HYPERINFER_HOME: opts.home,
        HYPERINFER_CONFIG_DIR: opts.configDir,
        HYPERINFER_BOOTSTRAP: '',
        HYPERINFER_NETWORK: '',
        LOG_LEVEL: 'silent',
        ...opts.env
      },
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', chunk => { stdout += chunk })
    child.stderr.on('data', chunk => { stderr += chunk })
    const timer = setTimeout(() => { child.kill('SIGKILL') }, opts.timeoutMs ?? 60_000)
    child.on('error', err => { clearTimeout(timer); reject(err) })
    child.on('close', code => {
      clearTimeout(timer)
      resolve({
        code,
        stdout,
        stderr,
        json () {
          try {
            return JSON.parse(stdout)
          } catch {
            throw new Error(`CLI output is not JSON (exit ${code}):\n${stdout}\n${stderr}`)
          }
        }
      })
    })
    child.stdin.end(opts.input ?? '')
  })
}
