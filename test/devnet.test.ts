import t from 'tap'
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCli } from './helpers/cli.js'

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')

function freePort (): Promise<number> {
  return new Promise(resolve => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}

function startDevnet (home: string, env: NodeJS.ProcessEnv) {
  const child = spawn(process.execPath, ['--import=tsx', join(ROOT, 'scripts', 'devnet.ts')], {
    cwd: ROOT, env: { ...process.env, ...env, HYPERINFER_HOME: home, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe']
  })
  let output = ''
  child.stdout.on('data', chunk => { output += chunk })
  child.stderr.on('data', chunk => { output += chunk })
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`devnet not ready in time:\n${output}`)), 150_000)
    child.stdout.on('data', () => { if (output.includes('devnet is ready')) { clearTimeout(timer); resolve(output) } })
    child.once('exit', code => { clearTimeout(timer); reject(new Error(`devnet exited ${code}:\n${output}`)) })
  })
  const stopped = new Promise<string>(resolve => child.once('close', (code, signal) => resolve(signal ?? `exit ${code}`)))
  return { ready, stop: () => { child.kill('SIGINT'); return stopped }, output: () => output }
}

t.test('npm start: the multi-process devnet serves the bundled model to the CLI, stops cleanly and restarts on its data', async t => {
  const home = mkdtempSync(join(tmpdir(), 'hyperinfer-devnet-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  const env = { METRICS_PORT: String(await freePort()), WEB_SERVICE_PORT: String(await freePort()) }
  const cli = { home, configDir: join(home, 'cli-config'), timeoutMs: 60_000 }

  const first = startDevnet(home, env)
  t.teardown(() => first.stop())
  const banner = await first.ready
  t.match(banner, /npx hyperinfer infer -m stories260K/, 'prints the CLI lines to try')
  t.ok(existsSync(join(home, 'devnet.json')), 'writes where the mesh is')

  const registered = await runCli(['register', '--username', 'alice', '--email', 'alice@example.com', '--password-stdin'], { ...cli, input: 'correct horse battery\n' })
  t.equal(registered.code, 0, registered.stderr)
  const created = await runCli(['--json', 'keys', 'create', '--name', 'laptop'], cli)
  t.equal(created.code, 0, created.stderr)
  const inferred = await runCli(['infer', '-m', 'stories260K', '--temperature', '0', '--max-tokens', '16', 'Once upon a time'], cli)
  t.equal(inferred.code, 0, inferred.stderr)
  t.match(inferred.stdout, /there was a little girl/, 'the real model answers through the devnet')
  const status = await runCli(['--json', 'status'], cli)
  const roles = new Set((status.json().nodes as { role: string }[]).map(n => n.role))
  for (const role of ['auth', 'gateway', 'inference', 'metrics']) t.ok(roles.has(role), `status lists ${role}`)

  t.equal(await first.stop(), 'exit 0', 'Ctrl-C stops everything')
  t.match(first.output(), /devnet: stopped/)
  t.notOk(existsSync(join(home, 'devnet.json')), 'removes the devnet file')

  const second = startDevnet(home, env)
  t.teardown(() => second.stop())
  await second.ready
  const again = await runCli(['login', '--username', 'alice', '--password-stdin'], { ...cli, input: 'correct horse battery\n' })
  t.equal(again.code, 0, `the same account after a restart: ${again.stderr}`)
  const quota = await runCli(['--json', 'quota'], cli)
  t.equal(quota.json().requests.used, 1, 'usage kept across restarts')
  t.equal(await second.stop(), 'exit 0')
})
