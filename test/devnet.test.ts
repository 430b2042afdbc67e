import t from 'tap'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from './helpers/cli.js'
import { rolePid, startDevnet } from './helpers/devnet.js'
import { until } from './helpers/until.js'

// One devnet start serves both the restart-on-its-data and the heal checks (they were two files, each
// paying for a whole devnet start: five role processes and the model).
t.test('npm start: the multi-process devnet serves the bundled model to the CLI, restarts a killed role, stops cleanly and restarts on its data', async t => {
  const home = mkdtempSync(join(tmpdir(), 'hyperinfer-devnet-'))
  t.teardown(() => rmSync(home, { recursive: true, force: true }))
  const cli = { home, configDir: join(home, 'cli-config'), timeoutMs: 60_000 }

  const first = await startDevnet(home)
  t.teardown(() => first.stop())
  await first.printed('devnet is ready', 150_000)
  t.match(first.output(), /npx hyperinfer infer -m stories260K/, 'prints the CLI lines to try')
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

  const worker = rolePid(first.child.pid!, 'inference')
  t.ok(worker, 'found the inference process')
  process.kill(worker!, 'SIGKILL')
  await first.printed('devnet: inference exited (SIGKILL); restarting', 10_000)
  const healed = await until('the restarted worker to serve through the gateway', async () => {
    const result = await runCli(['infer', '-m', 'stories260K', '--temperature', '0', '--max-tokens', '16', 'Once upon a time'], cli)
    return result.code === 0 && result.stdout
  }, { timeoutMs: 120_000 })
  t.match(healed, /there was a little girl/, 'the devnet restarted the killed worker and it serves through the gateway again')
  const usedBefore = (await runCli(['--json', 'quota'], cli)).json().requests.used
  t.ok(usedBefore >= 2, `both answered requests are counted (${usedBefore})`)

  t.equal(await first.stop(), 'exit 0', 'Ctrl-C stops everything')
  t.match(first.output(), /devnet: stopped/)
  t.notOk(existsSync(join(home, 'devnet.json')), 'removes the devnet file')

  const second = await startDevnet(home)
  t.teardown(() => second.stop())
  await second.printed('devnet is ready', 150_000)
  const again = await runCli(['login', '--username', 'alice', '--password-stdin'], { ...cli, input: 'correct horse battery\n' })
  t.equal(again.code, 0, `the same account after a restart: ${again.stderr}`)
  const quota = await runCli(['--json', 'quota'], cli)
  t.equal(quota.json().requests.used, usedBefore, 'usage kept across restarts')
  t.equal(await second.stop(), 'exit 0')
})
