import { join } from 'node:path'
import t from 'tap'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { gatewaySection } from '../shared/config/gateway.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { infer, quota } from '../shared/schemas/gateway.js'
import { createPlatform, untilServed } from './helpers/platform.js'
import { spawnRole } from './helpers/processes.js'
import { caller, FAKE_MODEL, fakeWorker, LONG_REPLY, queueDepth, records, settle } from './helpers/queue.js'
import { until } from './helpers/until.js'

// The gateway's admission queue (issue 13) as workers come and go: kill -9 of the only worker with a
// queue, a second worker draining it, and two gateways sharing one slot (the CLI's notice: cli-queued-notice.test.ts).

const QUEUE_DEFAULTS = gatewaySection.parse({}).queue
process.env.OPENAI_API_KEY ??= 'sk-test'

t.test('kill -9 of the only worker with requests queued: every request ends, none hangs, none billed unserved', async t => {
  const platform = await createPlatform(t, { gateway: { workerIdleTimeoutMs: 1_500, workerFirstTokenTimeoutMs: 3_000, queue: { ...QUEUE_DEFAULTS, timeoutMs: 20_000 } } })
  const fake = await startFakeOpenAI({ tokenDelayMs: 30, reply: LONG_REPLY })
  t.teardown(() => fake.close())
  const victim = spawnRole('inference', {
    dataDir: platform.mesh.dir('victim'),
    network: platform.mesh.network.name,
    bootstrap: platform.mesh.bootstrap,
    args: ['--openai-base-url', `${fake.url}/v1`, '--openai-model', FAKE_MODEL, '--concurrency', '1'],
    env: { OPENAI_API_KEY: 'sk-test' }
  })
  t.teardown(() => victim.stop())
  await untilServed(platform.gateway, FAKE_MODEL, 30_000)
  const { key, userId } = await platform.user('kim')
  const { gateway } = caller(t, platform)

  const started = Date.now()
  const streams = Array.from({ length: 10 }, () => gateway.stream(infer, { apiKey: key.key, model: FAKE_MODEL, prompt: 'go', maxTokens: 200 }))
  const outcomes = Promise.all(streams.map(s => settle(s.result)))
  await until('nine queued behind the running one', async () => await queueDepth(platform.gateway, FAKE_MODEL) === 9)
  await until('the running one streams', async () => fake.requests.length > 0)
  await victim.kill9()
  const ended = await outcomes
  const tookMs = Date.now() - started
  t.ok(tookMs < 20_000, `all 10 ended within the queue deadline (${tookMs} ms)`)
  t.ok(ended.every(o => !o.ok), 'none answered in full')
  const codes = ended.map(o => !o.ok && o.err.code)
  t.comment(`outcomes: ${codes.join(', ')}`)

  const logged = (await records(platform.gateway)).filter(r => r.userId === userId)
  t.equal(logged.length, 10, 'every request is in the log')
  const billed = logged.filter(r => r.billed !== false)
  t.ok(billed.length <= 1, `${billed.length} billed`)
  t.ok(billed.every(r => r.worker !== null && r.completionTokens > 0), 'only a request the worker produced tokens for is billed')
  t.ok(logged.filter(r => r.billed === false).every(r => r.completionTokens === 0 && r.worker === null), 'the unserved ones are refunded')
  const q = await gateway.call(quota, { apiKey: key.key })
  t.equal(q.requests.used, billed.length, 'the hourly count holds only the served request')
  t.equal(q.tokens.reserved, 0)
})

t.test('a second worker joining drains the queue across both', async t => {
  const platform = await createPlatform(t, { auth: { plans: { default: { requestsPerHour: 10_000, tokensPerDay: 10_000_000 } } } })
  await fakeWorker(t, platform, { tokenDelayMs: 20 })
  await untilServed(platform.gateway, FAKE_MODEL)
  const { key } = await platform.user('wes')
  const { gateway } = caller(t, platform)

  const outcomes = Promise.all(Array.from({ length: 60 }, (_, i) => settle(gateway.stream(infer, { apiKey: key.key, model: FAKE_MODEL, prompt: `p${i}`, maxTokens: 4 }).result)))
  await until('requests queued', async () => await queueDepth(platform.gateway, FAKE_MODEL) >= 50)
  const second = await fakeWorker(t, platform, { tokenDelayMs: 20 })
  const ended = await outcomes
  t.ok(ended.every(o => o.ok), 'every request answered')
  const byWorker = new Map<string, number>()
  for (const o of ended) if (o.ok) byWorker.set(o.result.worker!, (byWorker.get(o.result.worker!) ?? 0) + 1)
  t.equal(byWorker.size, 2, `served by both workers: ${[...byWorker.values()].join(' + ')}`)
  t.ok(second.requests.length >= 10, `the new worker took ${second.requests.length} of the queued requests`)
})

t.test('two gateways share one worker slot and no worker queue: a request that loses the race goes back to its queue, none fails', async t => {
  const platform = await createPlatform(t)
  const fake = await startFakeOpenAI({ tokenDelayMs: 5, reply: LONG_REPLY })
  t.teardown(() => fake.close())
  const worker = await platform.worker({ openaiBaseUrl: `${fake.url}/v1`, openaiModels: [FAKE_MODEL], concurrency: 1, queueSize: 0 })
  const { createGatewayNode } = await import('../services/gateway/role.js')
  const second = await createGatewayNode({ network: platform.mesh.network, bootstrap: platform.mesh.bootstrap, dataDir: platform.mesh.dir('gateway2'), config: { discoveryIntervalMs: 300 } })
  platform.mesh.closeLater(() => second.close())
  await untilServed(platform.gateway, FAKE_MODEL)
  await untilServed(second, FAKE_MODEL)
  const { key } = await platform.user('gina')
  await until('the second gateway knows the key', async () => second.accounts.lookupKey(key.key) !== null)
  const mesh = new MeshClient({ network: platform.mesh.network, bootstrap: platform.mesh.bootstrap })
  t.teardown(() => mesh.close())
  const request = { apiKey: key.key, model: FAKE_MODEL, prompt: 'hi', maxTokens: 4 }
  const outcomes = await Promise.all([platform.gateway, second].flatMap(gw =>
    Array.from({ length: 20 }, () => settle(mesh.client(gw.node.publicKey).stream(infer, request).result))))
  t.ok(outcomes.every(o => o.ok), `all 40 answered: ${outcomes.filter(o => !o.ok).map(o => !o.ok && o.err.message).join('; ')}`)
  const busy = (await worker.node.registry.getSingleMetricAsString('ai_platform_requests_total')).match(/method="inference\.run",status="BUSY"} (\d+)/)
  // With no queue of its own the worker refuses whichever gateway loses a race for a freed slot; that request goes back to the front of its queue.
  t.comment(`the worker answered BUSY ${busy ? busy[1] : 0} times`)
  t.equal(fake.requests.length, 40, 'the upstream saw each request once')
})
