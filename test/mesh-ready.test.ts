import { rmSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { createAuthNode } from '../services/auth/role.js'
import { createGatewayNode } from '../services/gateway/role.js'
import { HyperinferError } from '../shared/errors.js'
import { freeUdpPort, startBootstrapNodes } from '../shared/mesh/bootstrap.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { MeshNode } from '../shared/mesh/mesh-node.js'
import { health } from '../shared/schemas/mesh.js'
import { createKey, login, register } from '../shared/schemas/auth.js'
import { infer, models, quota } from '../shared/schemas/gateway.js'
import { codeOf } from './helpers/bounded.js'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { createPlatform, untilServed } from './helpers/platform.js'
import { until } from './helpers/until.js'

// The worker's backend is not what is tested here: a fake OpenAI upstream starts at once, where
// llama.cpp costs seconds per test process (its import and a forked binding self-test).
const MODEL = 'gpt-fake'

t.test('a model nobody serves fails with MODEL_UNAVAILABLE at once', async t => {
  const platform = await createPlatform(t)
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const fake = await startFakeOpenAI()
  platform.mesh.closeLater(() => fake.close())
  await platform.worker({ openaiBaseUrl: `${fake.url}/v1`, openaiModels: [MODEL] })
  await untilServed(platform.gateway, MODEL)
  const { key } = await platform.user('nobody-serves')
  const client = platform.gateway.node.client(platform.gateway.node.publicKey)
  // The stream gives up after 2 s without an answer (TIMEOUT): only a fast refusal passes.
  const stream = client.stream(infer, { apiKey: key.key, model: 'no-such-model', prompt: 'hi', maxTokens: 4 }, { firstChunkTimeoutMs: 2_000, idleTimeoutMs: 2_000 })
  t.equal(await codeOf(stream.result), 'MODEL_UNAVAILABLE')
})

t.test('a starting gateway answers UNAVAILABLE with a retry hint, never UNKNOWN_METHOD', async t => {
  const platform = await createPlatform(t)
  const dataDir = platform.mesh.dir('gateway2')
  const first = await createGatewayNode({ dataDir, network: platform.mesh.network, bootstrap: platform.mesh.bootstrap, config: { discoveryIntervalMs: 300 } })
  const gatewayKey = first.node.publicKey
  await first.close()
  // Without its remembered accounts key and with auth away, the restarted gateway listens but is not ready.
  rmSync(join(dataDir, 'accounts-key'), { force: true })
  const authDir = platform.auth.node.dataDir
  await platform.auth.close()

  const caller = new MeshClient({ network: platform.mesh.network, bootstrap: platform.mesh.bootstrap })
  t.teardown(() => caller.close())
  const codes = new Map<string, number>()
  let retryHints = 0
  let calling = true
  const hammer = (async () => {
    while (calling) {
      const peer = caller.client(gatewayKey)
      const code = await codeOf(peer.call(models, {}, { timeoutMs: 2_000 }).catch(err => {
        if (err instanceof HyperinferError && err.code === 'UNAVAILABLE' && err.retryAfterMs !== undefined) retryHints++
        throw err
      }))
      const streamed = await codeOf(peer.stream(infer, { apiKey: 'hi_' + 'a'.repeat(43), model: MODEL, prompt: 'x', maxTokens: 1 }, { firstChunkTimeoutMs: 2_000 }).result)
      for (const c of [code, streamed]) codes.set(c, (codes.get(c) ?? 0) + 1)
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  })()
  const starting = createGatewayNode({ dataDir, network: platform.mesh.network, bootstrap: platform.mesh.bootstrap, config: { discoveryIntervalMs: 300 } })
  await until('the starting gateway is seen refusing with UNAVAILABLE', () => retryHints > 0, { timeoutMs: 20_000 })
  const auth = await createAuthNode({ dataDir: authDir, network: platform.mesh.network, bootstrap: platform.mesh.bootstrap, refreshIntervalMs: 300, config: { scrypt: { N: 1024, r: 8, p: 1 } } })
  t.teardown(() => auth.close())
  const gateway = await starting
  t.teardown(() => gateway.close())
  await until('the ready gateway answers models', () => (codes.get('OK') ?? 0) > 0, { timeoutMs: 20_000 })
  calling = false
  await hammer
  t.notOk(codes.has('UNKNOWN_METHOD'), `never UNKNOWN_METHOD (seen: ${JSON.stringify(Object.fromEntries(codes))})`)
  t.ok(retryHints > 0, 'UNAVAILABLE carried a retry hint while starting')
})

t.test('a node whose DHT is not up at start keeps announcing and is found once it answers', async t => {
  const port = await freeUdpPort()
  const bootstrap = [{ host: '127.0.0.1', port }]
  const node = new MeshNode({ role: 'inference', dataDir: t.testdir({ w: {} }) + '/w', network: { name: 'late-dht' }, bootstrap, probeIntervalMs: 500 })
  t.teardown(() => node.close())
  await node.open()
  t.pass('the node started although no DHT answered')
  const dht = await startBootstrapNodes({ port })
  t.teardown(() => dht.close())
  const client = new MeshClient({ network: { name: 'late-dht' }, bootstrap, refreshIntervalMs: 500 })
  t.teardown(() => client.close())
  const [found] = await client.discovery.waitFor('inference', { timeoutMs: 60_000 })
  t.equal(found.id, node.publicKey.toString('hex'), 'found on the topic once the DHT answered')
  const answer = await client.client(found.publicKey).call(health, {})
  t.equal(answer.role, 'inference', 'and reachable')
})

t.test('a new API key works at the gateway on the very next request', async t => {
  const platform = await createPlatform(t)
  const authClient = platform.gateway.node.client(platform.auth.node.publicKey)
  const gatewayClient = platform.gateway.node.client(platform.gateway.node.publicKey)
  await authClient.call(register, { username: 'fresh', email: 'fresh@example.com', password: 'correct horse battery' })
  const { token } = await authClient.call(login, { login: 'fresh', password: 'correct horse battery' })
  for (let i = 0; i < 5; i++) {
    const { key } = await authClient.call(createKey, { token, name: `k${i}` })
    t.equal(await codeOf(gatewayClient.call(quota, { apiKey: key })), 'OK', `key ${i} accepted at once`)
  }
})
