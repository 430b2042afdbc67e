import t from 'tap'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { writeSession, readSession } from '../client-cli/session.js'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { runCli, writeTestDevnet } from './helpers/cli.js'
import { createPlatform, untilServed } from './helpers/platform.js'

const MODEL = 'gpt-fake'

t.test('the CLI remembers the gateway it reached and dials it directly; a gateway that stopped answering is replaced', async t => {
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const platform = await createPlatform(t)
  const fake = await startFakeOpenAI()
  platform.mesh.closeLater(() => fake.close())
  await platform.worker({ openaiBaseUrl: `${fake.url}/v1`, openaiModels: [MODEL] })
  await untilServed(platform.gateway, MODEL)
  const { key } = await platform.user('mira')

  const home = platform.mesh.dir('cli')
  writeTestDevnet(home, platform.mesh.network.name, platform.mesh.bootstrap)
  const configDir = join(home, 'config')
  const cli = { home, configDir }
  const env = { HYPERINFER_CONFIG_DIR: configDir }
  const gatewayKey = platform.gateway.node.publicKey.toString('hex')
  // Discovery on a loaded 2-core machine can miss its 15 s window: a command that found no gateway
  // at all (UNAVAILABLE) is run again, at most 3 times; any other outcome counts as is.
  const infer = async () => {
    for (let attempt = 1; ; attempt++) {
      const run = await runCli(['infer', '-m', MODEL, '--max-tokens', '2', '--api-key', key.key, 'hi'], cli)
      if (run.code === 0 || attempt === 3 || !run.stderr.includes('UNAVAILABLE')) return run
    }
  }

  const first = await infer()
  t.equal(first.code, 0, first.stderr)
  const remembered = readSession(env).lastGateway
  t.equal(remembered?.publicKey, gatewayKey, 'the session keeps the gateway it reached')
  t.notMatch(readFileSync(join(configDir, 'session.json'), 'utf8'), key.key, 'the API key given by flag is not written')

  const second = await infer()
  t.equal(second.code, 0, second.stderr)
  t.equal(readSession(env).lastGateway?.publicKey, gatewayKey, 'still the same gateway')

  // A gateway that no longer answers (a key nobody serves) is dropped for the one discovery finds.
  writeSession({ ...readSession(env), lastGateway: { mesh: remembered!.mesh, publicKey: randomBytes(32).toString('hex') } }, env)
  const third = await infer()
  t.equal(third.code, 0, third.stderr)
  t.equal(readSession(env).lastGateway?.publicKey, gatewayKey, 'the gateway found by discovery replaces the dead one')

  // Another mesh (different network name) never uses this one's gateway.
  const otherHome = platform.mesh.dir('other')
  writeTestDevnet(otherHome, 'some-other-network', platform.mesh.bootstrap)
  const other = await runCli(['models', '--json'], { home: otherHome, configDir, timeoutMs: 60_000 })
  t.not(other.code, 0, 'no gateway on the other network: the remembered one is not used there')
})
