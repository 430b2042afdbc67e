// npm run bench:cli — how fast the `hyperinfer` command starts and answers, against `node -e 0`
// measured in the same run: `--help` (median of 5) and a one-token `infer` on a running devnet
// (started here from dist/, on 127.0.0.1, in a temporary home; medians of 5 after one warm-up).
import { spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { CLI_BUNDLE, PACKAGE_ROOT, programEntry } from '../../shared/paths.js'

const RUNS = 5
// What `npm install` puts on the PATH (package.json's bin): the bundled CLI.
const cli = { file: CLI_BUNDLE, execArgv: [] as string[] }
const home = mkdtempSync(join(tmpdir(), 'hyperinfer-bench-cli-'))
const env = { ...process.env, HYPERINFER_HOME: home, HYPERINFER_CONFIG_DIR: join(home, 'config'), HYPERINFER_NETWORK: `bench-cli-${process.pid}`, LOG_LEVEL: 'warn' }

function wallMs (args: string[], input?: string): number {
  const started = performance.now()
  const run = spawnSync(process.execPath, args, { cwd: PACKAGE_ROOT, env, input, encoding: 'utf8', timeout: 60_000 })
  const ms = performance.now() - started
  if (run.status !== 0) throw new Error(`${args.join(' ')} exited ${run.status}: ${run.stderr}`)
  return ms
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const hyperinfer = (...args: string[]): string[] => [...cli.execArgv, cli.file, ...args]

function freePort (): Promise<number> {
  return new Promise(resolve => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

const goals: string[] = []
const goal = (text: string, met: boolean): void => { goals.push(`  ${met ? 'met    ' : 'NOT met'}  ${text}`) }

// Alternate baseline and command so both see the same machine.
const bare: number[] = []
const help: number[] = []
for (let i = 0; i < RUNS; i++) {
  bare.push(wallMs(['-e', '0']))
  help.push(wallMs(hyperinfer('--help')))
}
console.log(`bench:cli — wall time, median of ${RUNS}`)
console.log(`  node -e 0                     ${median(bare).toFixed(0).padStart(5)} ms`)
console.log(`  hyperinfer --help             ${median(help).toFixed(0).padStart(5)} ms  (${(median(help) / median(bare)).toFixed(2)}x node -e 0)`)
goal(`hyperinfer --help: ${median(help).toFixed(0)} ms = ${(median(help) / median(bare)).toFixed(2)}x node -e 0 (goal <= 2x)`, median(help) <= 2 * median(bare))

const devnetEntry = programEntry('scripts/devnet')
const devnet = spawn(process.execPath, [...devnetEntry.execArgv, devnetEntry.file], {
  cwd: PACKAGE_ROOT,
  env: { ...env, METRICS_PORT: String(await freePort()), WEB_SERVICE_PORT: String(await freePort()) },
  stdio: ['ignore', 'pipe', 'inherit']
})
try {
  await new Promise<void>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`the devnet was not ready within 180 s:\n${out}`)), 180_000)
    devnet.stdout.on('data', chunk => {
      out += chunk
      if (out.includes('devnet is ready')) { clearTimeout(timer); resolve() }
    })
    devnet.once('exit', code => { clearTimeout(timer); reject(new Error(`the devnet exited (${code}):\n${out}`)) })
  })
  wallMs(hyperinfer('register', '--username', 'bench', '--email', 'bench@example.com', '--password-stdin'), 'correct horse battery')
  wallMs(hyperinfer('keys', 'create', '--name', 'bench'))
  const infer = hyperinfer('infer', '-m', 'stories260K', '--max-tokens', '1', 'Once')
  const first = wallMs(infer)
  const warm: number[] = []
  const bare2: number[] = []
  for (let i = 0; i < RUNS; i++) {
    bare2.push(wallMs(['-e', '0']))
    warm.push(wallMs(infer))
  }
  console.log(`  hyperinfer infer -m stories260K --max-tokens 1 "Once" on a running devnet:`)
  console.log(`    first (finds the gateway on the DHT)  ${first.toFixed(0).padStart(5)} ms`)
  console.log(`    then (remembered gateway)             ${median(warm).toFixed(0).padStart(5)} ms  (node -e 0: ${median(bare2).toFixed(0)} ms)`)
  goal(`hyperinfer infer --max-tokens 1 on a running devnet: ${(median(warm) / 1000).toFixed(2)} s (goal <= 0.6 s)`, median(warm) <= 600)
} finally {
  await new Promise<void>(resolve => {
    if (devnet.exitCode !== null) return resolve()
    devnet.once('exit', () => resolve())
    devnet.kill('SIGINT')
  })
  rmSync(home, { recursive: true, force: true })
}
console.log('goals')
for (const line of goals) console.log(line)
