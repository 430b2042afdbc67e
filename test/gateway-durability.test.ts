import t from 'tap'
import { createAuthNode } from '../services/auth/index.js'
import { createGatewayNode } from '../services/gateway/index.js'
import { createInferenceNode } from '../services/inference/index.js'
import type { DailyCounter, RequestRecord } from '../services/gateway/usage-log.js'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { createKey, login, register } from '../shared/schemas/auth.js'
import { infer, models } from '../shared/schemas/gateway.js'
import { createTestMesh } from './helpers/mesh.js'
import { spawnRole } from './helpers/processes.js'

const MODEL = 'gpt-fake'

t.test('after kill -9 of the gateway under load, every acknowledged request is in the log and the counters add up', async t => {
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const mesh = await createTestMesh(t)
  const base = { network: mesh.network, bootstrap: mesh.bootstrap, refreshIntervalMs: 300 }
  const auth = await createAuthNode({ ...base, dataDir: mesh.dir('auth'), auth: { scrypt: { N: 1024, r: 8, p: 1 }, autoApproveWorkers: true } })
  mesh.closeLater(() => auth.close())
  const fake = await startFakeOpenAI()
  mesh.closeLater(() => fake.close())
  const worker = await createInferenceNode({ ...base, dataDir: mesh.dir('worker'), inference: { openaiBaseUrl: `${fake.url}/v1`, openaiModels: [MODEL], concurrency: 64, queueSize: 1000 } })
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
  for (let i = 0; i < 200; i++) {
    const ready = await gateway.call(models, {}).then(m => m.models.some(x => x.name === MODEL), () => false)
    const keyKnown = ready && await gateway.stream(infer, { apiKey: key, model: MODEL, prompt: 'warm', maxTokens: 1 }).result.then(() => true, () => false)
    if (keyKnown) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }

  const acknowledged = new Set<string>()
  let stop = false
  const loops = Array.from({ length: 16 }, async () => {
    while (!stop) {
      try {
        const result = await gateway.stream(infer, { apiKey: key, model: MODEL, prompt: 'load', maxTokens: 3 }, { idleTimeoutMs: 3_000 }).result
        if (result.recorded) acknowledged.add(result.requestId)
      } catch {
        if (stop) return
      }
    }
  })
  while (acknowledged.size < 60) await new Promise(resolve => setTimeout(resolve, 20))
  await gatewayProcess.kill9()
  stop = true
  await Promise.all(loops)
  t.ok(acknowledged.size >= 60, `${acknowledged.size} requests acknowledged before the kill`)

  const restarted = await createGatewayNode({ ...base, dataDir: gatewayDir })
  mesh.closeLater(() => restarted.close())
  const logged = new Map<string, RequestRecord>()
  for await (const record of restarted.usage.range<RequestRecord>('requests/', 'requests/~')) logged.set(record.id, record)
  const missing = [...acknowledged].filter(id => !logged.has(id))
  t.same(missing, [], 'every acknowledged request is in the log')

  const sums = new Map<string, { requests: number, promptTokens: number, completionTokens: number }>()
  for (const record of logged.values()) {
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
    t.same({ requests: counter.requests, promptTokens: counter.promptTokens, completionTokens: counter.completionTokens }, sum, `daily counter ${date} equals the sum of the log`)
  }
})
