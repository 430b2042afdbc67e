import t from 'tap'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { infer, quota, type InferResult } from '../shared/schemas/gateway.js'
import { createPlatform, untilServed, type Platform } from './helpers/platform.js'
import { until } from './helpers/until.js'
import type { TestMesh } from './helpers/mesh.js'
import type { RequestRecord } from '../services/gateway/usage-log.js'

const MODEL = 'gpt-fake'

async function fastWorker (t: Test, platform: Platform, tokenDelayMs = 0) {
  const fake = await startFakeOpenAI({ tokenDelayMs })
  t.teardown(() => fake.close())
  const worker = await platform.worker({ openaiBaseUrl: `${fake.url}/v1`, openaiModels: [MODEL], concurrency: 256, queueSize: 1000 })
  await untilServed(platform.gateway, MODEL)
  return { fake, worker }
}

function caller (t: Test, mesh: TestMesh, platform: Platform) {
  const client = new MeshClient({ network: mesh.network, bootstrap: mesh.bootstrap })
  t.teardown(() => client.close())
  return client.client(platform.gateway.node.publicKey)
}

type Test = { teardown (fn: () => unknown): void }

t.test('150 parallel requests on a 100/hour key: exactly 100 succeed, 50 are RATE_LIMITED', async t => {
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const platform = await createPlatform(t)
  await fastWorker(t, platform)
  const { key } = await platform.user('carol')
  const gateway = caller(t, platform.mesh, platform)

  const outcomes = await Promise.all(Array.from({ length: 150 }, () =>
    gateway.stream(infer, { apiKey: key.key, model: MODEL, prompt: 'hello', maxTokens: 4 }).result.then(
      () => 'OK',
      (err: { code: string, retryAfterMs?: number }) => err.code === 'RATE_LIMITED' && err.retryAfterMs! > 0 ? 'RATE_LIMITED' : err.code)))
  const count = (code: string): number => outcomes.filter(o => o === code).length
  t.equal(count('OK'), 100, 'exactly the limit succeeds')
  t.equal(count('RATE_LIMITED'), 50, 'the rest are refused with a retry time')

  const q = await gateway.call(quota, { apiKey: key.key })
  t.equal(q.requests.used, 100)
  t.equal(q.requests.remaining, 0)
  await platform.gateway.usage.drain()
  const counter = await platform.gateway.usage.dailyCounter(platform.gateway.accounts.lookupKey(key.key)!.userId, new Date().toISOString().slice(0, 10))
  t.equal(counter?.requests, 100, 'daily counter holds the 100 admitted')
  const violations = await platform.gateway.node.registry.getSingleMetricAsString('ai_platform_rate_limit_violations_total')
  t.match(violations, /plan="default",kind="requests"} 50/)
})

t.test('parallel requests never overspend a small token quota', async t => {
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const platform = await createPlatform(t, { auth: { plans: { default: { requestsPerHour: 10_000, tokensPerDay: 600 } } } })
  await fastWorker(t, platform)
  const { key } = await platform.user('dave')
  const gateway = caller(t, platform.mesh, platform)

  const results = await Promise.all(Array.from({ length: 40 }, () =>
    gateway.stream(infer, { apiKey: key.key, model: MODEL, prompt: 'tell me a story', maxTokens: 12 }).result.then(r => r, (err: Error & { code: string }) => err)))
  const ok = results.filter((r): r is InferResult => !(r instanceof Error))
  const refused = results.filter((r): r is Error & { code: string } => r instanceof Error)
  t.ok(ok.length > 0, `${ok.length} admitted`)
  t.ok(refused.length > 0 && refused.every(e => e.code === 'QUOTA_EXCEEDED'), `${refused.length} refused with QUOTA_EXCEEDED`)
  const spent = ok.reduce((n, r) => n + r.usage.totalTokens, 0)
  t.ok(spent <= 600, `spent ${spent} of 600`)
  const q = await gateway.call(quota, { apiKey: key.key })
  t.equal(q.tokens.used, spent, 'the quota counts exactly what was billed')
  t.equal(q.tokens.reserved, 0, 'every reservation settled')
  t.ok(q.tokens.used + q.tokens.remaining === 600)
})

t.test('a client aborting mid-stream stops the worker and the produced tokens are billed', async t => {
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const platform = await createPlatform(t)
  const { fake } = await fastWorker(t, platform, 30)
  const { key } = await platform.user('erin')
  const gateway = caller(t, platform.mesh, platform)

  const controller = new AbortController()
  const stream = gateway.stream(infer, { apiKey: key.key, model: MODEL, prompt: 'hello', maxTokens: 200 }, { signal: controller.signal })
  let received = 0
  for await (const _ of stream) if (++received === 3) controller.abort()
  const final = await stream.result.catch(err => err)
  t.equal(final.finishReason, 'cancelled', 'the final response says cancelled')
  t.ok(final.usage.completionTokens >= 3, `billed ${final.usage.completionTokens} completion tokens`)

  await until('the upstream to see its client go', () => fake.clientAborts > 0)
  t.equal(fake.clientAborts, 1, 'the upstream saw the connection closed')

  await platform.gateway.usage.drain()
  const account = platform.gateway.accounts.lookupKey(key.key)!
  const counter = await platform.gateway.usage.dailyCounter(account.userId, new Date().toISOString().slice(0, 10))
  t.equal(counter?.completionTokens, final.usage.completionTokens, 'the usage log has the produced tokens')
  const recent = []
  for await (const r of platform.gateway.usage.recentRequests(account.userId, 100)) recent.push(r)
  t.same(recent.map(r => r.status), ['CANCELLED'])
})
