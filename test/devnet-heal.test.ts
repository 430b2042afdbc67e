import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from './helpers/cli.js'
import { rolePid, startDevnet } from './helpers/devnet.js'
import { until } from './helpers/until.js'

t.test('the devnet restarts a killed role and serves again', async t => {
  const home = mkdtempSync(join(tmpdir(), 'hyperinfer-heal-'))
  const devnet = await startDevnet(home)
  t.teardown(async () => {
    await devnet.stop()
    rmSync(home, { recursive: true, force: true })
  })
  await devnet.printed('devnet is ready', 150_000)
  const cli = { home, configDir: join(home, 'cli-config'), timeoutMs: 60_000 }
  t.equal((await runCli(['register', '--username', 'heal', '--email', 'heal@example.com', '--password-stdin'], { ...cli, input: 'correct horse battery\n' })).code, 0, 'registered')
  t.equal((await runCli(['--json', 'keys', 'create', '--name', 'k'], cli)).code, 0, 'key created')

  const worker = rolePid(devnet.child.pid!, 'inference')
  t.ok(worker, 'found the inference process')
  process.kill(worker!, 'SIGKILL')
  await devnet.printed('devnet: inference exited (SIGKILL); restarting', 10_000)
  t.pass('the devnet noticed and restarts it')

  const answered = await until('the restarted worker to serve through the gateway', async () => {
    const result = await runCli(['infer', '-m', 'stories260K', '--temperature', '0', '--max-tokens', '16', 'Once upon a time'], cli)
    return result.code === 0 && result.stdout
  }, { timeoutMs: 120_000 })
  t.match(answered, /there was a little girl/, 'the restarted worker serves through the gateway again')
  t.equal(await devnet.stop(), 'exit 0', 'still stops cleanly')
})
