import t from 'tap'
import { createAuthNode } from '../services/auth/role.js'
import { createGatewayNode } from '../services/gateway/role.js'
import { createInferenceNode } from '../services/inference/role.js'
import type { DailyCounter, RequestRecord } from '../services/gateway/usage-log.js'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { createKey, login, register } from '../shared/schemas/auth.js'
import { infer, models, quota } from '../shared/schemas/gateway.js'
import { createTestMesh } from './helpers/mesh.js'
import { spawnRole } from './helpers/processes.js'
import { until } from './helpers/until.js'

const MODEL = 'gpt-fake'

t.test('after kill -9 of the gateway under load, every acknowledged request is in the log and the counters add up', async t => {
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const mesh = await createTestMesh(t)
  const base = { network: mesh.network, bootstrap: mesh.bootstrap, refreshIntervalMs: 300 }
  const auth = await createAuthNode({ ...base, dataDir: mesh.dir('auth'), config: { scrypt: { N: 1024, r: 8, p: 1 }, autoApproveWorkers: true } })
  mesh.closeLater(() => auth.close())
  const fake = await startFakeOpenAI()
  mesh.closeLater(() => fake.close())
  const worker = await createInferenceNode({ ...base, dataDir: mesh.dir('worker'), config: { openaiBaseUrl: `${fake.url}/v1`, openaiModels: [MODEL], concurrency: 64, queueSize: 1000 } })
  mesh.closeLater(() => worker.close())

  const client = new MeshClient({ network: mesh.network, bootstrap: mesh.bootstrap, refreshIntervalMs: 300 })
  mesh.closeLater(() => client.close())
  const authRpc = client.client(auth.node.publicKey)
  await authRpc.call(register, { username: 'gina', email: 'gina@example.com', password: 'correct horse battery' })
  const { token } = await authRpc.call(login, { login: 'gina', password: 'correct horse battery' })
  const { key } = await authRpc.call(createKey, { token, name: 'load' })

  const gatewayDir = mesh.dir('gateway')
  const gatewayProcess = spawnRole('gateway', { dataDir: gatewayDir, network: mesh.network.name, bootstrap: mesh.bootstrap })
  mesh.closeLater(() => gatewayProcess.stop())
  const [gatewayPeer] = await client.discovery.waitFor('gateway', { timeoutMs: 60_000 })
  const gateway = client.client(gatewayPeer.publicKey)
  await until('the gateway to serve the model to the new key', async () => {
    const ready = await gateway.call(models, {}).then(m => m.models.some(x => x.name === MODEL), () => false)
    return ready && await gateway.stream(infer, { apiKey: key, model: MODEL, prompt: 'warm', maxTokens: 1 }).result.then(() => true, () => false)
  }, { timeoutMs: 60_000, everyMs: 100 })

  const acknowledged = new Map<string, { promptTokens: number, completionTokens: number }>()
  let stop = false
  let cutOff = 0
  const loops = Array.from({ length: 16 }, async () => {
    while (!stop) {
      try {
        const result = await gateway.stream(infer, { apiKey: key, model: MODEL, prompt: 'load', maxTokens: 3 }, { idleTimeoutMs: 3_000 }).result
        if (result.recorded) acknowledged.set(result.requestId, { promptTokens: result.usage.promptTokens, completionTokens: result.usage.completionTokens })
      } catch {
        if (stop) cutOff++
      }
    }
  })
  // The kill means something only under load: at least 60 answers before it (else the wait fails the test).
  await until('60 acknowledged requests under load', () => acknowledged.size >= 60, { timeoutMs: 60_000, everyMs: 20 })
  await gatewayProcess.kill9()
  stop = true
  await Promise.all(loops)
  t.ok(cutOff > 0, `${cutOff} requests were in flight when the gateway was killed`)

  const restarted = await createGatewayNode({ ...base, dataDir: gatewayDir })
  mesh.closeLater(() => restarted.close())
  const logged = new Map<string, RequestRecord>()
  for await (const record of restarted.usage.requestsSince('')) logged.set(record.id, record)
  const missing = [...acknowledged.keys()].filter(id => !logged.has(id))
  t.same(missing, [], 'every acknowledged request is in the log')
  const records = [...logged.values()]
  t.same(records.filter(r => r.status === 'PENDING').map(r => r.id), [], 'no intent is left unsettled after the restart')
  const abandoned = records.filter(r => r.status === 'UNSETTLED')
  t.same(abandoned.filter(r => r.completionTokens !== r.reservedTokens || !(r.reservedTokens! > 0)).map(r => r.id), [],
    `intents the killed gateway never settled (${abandoned.length}) are billed at their reservation`)
  // A final record is journaled before its answer goes out, so the group commit the kill cut short loses none.
  t.same(abandoned.filter(r => acknowledged.has(r.id)).map(r => r.id), [], 'no acknowledged request is billed at its reservation')
  const settledAcks = records.filter(r => r.status === 'OK' && acknowledged.has(r.id))
  t.equal(settledAcks.length, acknowledged.size, `all ${acknowledged.size} acknowledged requests are settled`)
  t.same(settledAcks.filter(r => r.promptTokens !== acknowledged.get(r.id)!.promptTokens || r.completionTokens !== acknowledged.get(r.id)!.completionTokens).map(r => r.id), [],
    'settled records carry the usage the caller was told')

  // Refunded requests (no worker served them: billed false) are in the log but count in no daily counter.
  const refunded = records.filter(r => r.billed === false)
  t.same(refunded.filter(r => r.promptTokens !== 0 || r.completionTokens !== 0 || acknowledged.has(r.id)).map(r => r.id), [],
    `the ${refunded.length} refunded requests in the log carry no tokens and none was acknowledged as answered`)
  const sums = new Map<string, { requests: number, promptTokens: number, completionTokens: number }>()
  for (const record of records.filter(r => r.billed !== false)) {
    const day = `${record.userId}/${record.at.slice(0, 10)}`
    const sum = sums.get(day) ?? { requests: 0, promptTokens: 0, completionTokens: 0 }
    sum.requests++
    sum.promptTokens += record.promptTokens
    sum.completionTokens += record.completionTokens
    sums.set(day, sum)
  }
  for (const [day, sum] of sums) {
    const [userId, date] = day.split('/')
    const counter = await restarted.usage.dailyCounter(userId, date) as DailyCounter
    t.same({ requests: counter.requests, promptTokens: counter.promptTokens, completionTokens: counter.completionTokens }, sum, `daily counter ${date} equals the sum of the billed requests in the log`)
  }

  // The restarted gateway's quota continues from the log, reservations of abandoned intents included.
  const today = new Date().toISOString().slice(0, 10)
  const billedToday = records.filter(r => r.at.startsWith(today)).reduce((n, r) => n + r.promptTokens + r.completionTokens, 0)
  const restartedRpc = client.client(restarted.node.publicKey)
  const status = await until('the restarted gateway to know the key', () => restartedRpc.call(quota, { apiKey: key }).catch(() => undefined))
  t.equal(status.tokens.used, billedToday, `the restarted gateway's quota counts the ${billedToday} tokens billed today`)
})

t.test('intents admitted and never settled are billed at their reservation on the next start', async t => {
  const mesh = await createTestMesh(t)
  const base = { network: mesh.network, bootstrap: mesh.bootstrap, refreshIntervalMs: 300 }
  const auth = await createAuthNode({ ...base, dataDir: mesh.dir('auth'), config: { scrypt: { N: 1024, r: 8, p: 1 } } })
  mesh.closeLater(() => auth.close())
  const dataDir = mesh.dir('gateway')
  const first = await createGatewayNode({ ...base, dataDir })
  const at = new Date().toISOString()
  const intent = (id: string, reservedTokens: number) => ({ id, at, userId: 'u1', keyId: 'k1', model: 'm', promptSha256: '0'.repeat(64), reservedTokens })
  await Promise.all([first.usage.admit(intent('settled', 100)), first.usage.admit(intent('lost-a', 40)), first.usage.admit(intent('lost-b', 2))])
  first.usage.settle({ ...intent('settled', 100), worker: 'w', promptTokens: 5, completionTokens: 7, latencyMs: 1, ttftMs: 1, status: 'OK' })
  await first.close()

  const second = await createGatewayNode({ ...base, dataDir })
  mesh.closeLater(() => second.close())
  const byId = new Map<string, RequestRecord>()
  for await (const record of second.usage.requestsSince(at)) byId.set(record.id, record)
  t.same([...byId.keys()].sort(), ['lost-a', 'lost-b', 'settled'])
  t.match(byId.get('settled'), { status: 'OK', promptTokens: 5, completionTokens: 7 }, 'the settled request keeps what the worker reported')
  t.match(byId.get('lost-a'), { status: 'UNSETTLED', promptTokens: 0, completionTokens: 40 }, 'an abandoned intent is billed its reservation')
  t.match(byId.get('lost-b'), { status: 'UNSETTLED', promptTokens: 0, completionTokens: 2 })
  const counter = await second.usage.dailyCounter('u1', at.slice(0, 10))
  t.match(counter, { requests: 3, promptTokens: 5, completionTokens: 49 }, 'the daily counter adds them up')
  const recent = []
  for await (const record of second.usage.recentRequests('u1', 10)) recent.push(record.id)
  t.same(recent.sort(), ['lost-a', 'lost-b', 'settled'], 'the per-user index finds every request')
})
