import t from 'tap'
import { HyperinferClient } from '../client-cli/client.js'
import { gatewaySection } from '../shared/config/gateway.js'
import { infer, quota, type QueuedNotice } from '../shared/schemas/gateway.js'
import { BUNDLED_MODEL, createPlatform, untilServed } from './helpers/platform.js'
import { caller, FAKE_MODEL, fakeWorker, metric, queueDepth, records, settle } from './helpers/queue.js'
import { until } from './helpers/until.js'

// The gateway's admission queue (issue 13): the burst, fairness, deadline, full queue, unserved model.
// Workers coming and going, several gateways and the CLI are in gateway-queue-workers.test.ts.

const QUEUE_DEFAULTS = gatewaySection.parse({}).queue
process.env.OPENAI_API_KEY ??= 'sk-test'

t.test('the burst: 150 parallel requests on a 100/hour key, bundled model, one worker at concurrency 1', async t => {
  const platform = await createPlatform(t)
  const worker = await platform.worker({ llamaModel: BUNDLED_MODEL, concurrency: 1 })
  await untilServed(platform.gateway, 'stories260K')
  const { key } = await platform.user('burst')
  const { mesh } = caller(t, platform)
  const client = new HyperinferClient({ apiKey: key.key, mesh })

  let notices = 0
  const calls = Array.from({ length: 150 }, () => {
    const call = client.infer({ model: 'stories260K', prompt: 'Once upon a time', maxTokens: 8, onQueued: () => { notices++ } })
    return settle((async () => {
      let streamed = ''
      for await (const text of call) streamed += text
      const result = await call
      if (result.text !== streamed) throw new Error('streamed text differs from the result')
      return result
    })())
  })
  const outcomes = await Promise.all(calls)
  const ok = outcomes.filter(o => o.ok)
  const refused = outcomes.flatMap(o => o.ok ? [] : [o.err])
  t.equal(ok.length, 100, 'exactly 100 answers')
  t.equal(refused.length, 50)
  t.ok(refused.every(e => e.code === 'RATE_LIMITED' && e.retryAfterMs! > 0), `the other 50 are RATE_LIMITED with a retry time: ${[...new Set(refused.map(e => e.code))].join(',')}`)
  t.ok(ok.every(o => o.ok && o.result.usage.completionTokens > 0 && o.result.text.length > 0), 'every answer is real generated text')

  const q = await client.quota()
  t.equal(q.requests.used, 100, 'quota shows 100 used')
  t.equal(q.tokens.reserved, 0, 'every reservation settled')
  const busy = await worker.node.registry.getSingleMetricAsString('ai_platform_requests_total')
  t.notMatch(busy, /method="inference\.run",status="BUSY"/, 'the gateway never sent the worker more than it had room for')
  t.match(await metric(platform.gateway, 'ai_platform_queue_wait_seconds'), /ai_platform_queue_wait_seconds_count{model="stories260K"} 100/, 'every admitted request went through the queue')
  t.comment(`${notices} queued notices seen by the client library`)
  await client.close()
})

t.test('fairness: with 300 of user A\'s requests queued, user B\'s single request is next but one; A cancelling while queued is refunded', async t => {
  const platform = await createPlatform(t, { auth: { plans: { default: { requestsPerHour: 10_000, tokensPerDay: 10_000_000 } } } })
  const fake = await fakeWorker(t, platform, { tokenDelayMs: 30 })
  await untilServed(platform.gateway, FAKE_MODEL)
  const a = await platform.user('alice')
  const b = await platform.user('bob')
  const { gateway } = caller(t, platform)

  const completed: string[] = []
  const aborts = new AbortController()
  const positions: number[] = []
  const burst = Array.from({ length: 301 }, (_, i) => {
    const stream = gateway.stream(infer, { apiKey: a.key.key, model: FAKE_MODEL, prompt: `a${i}`, maxTokens: 3 }, { signal: aborts.signal })
    return settle((async () => {
      for await (const chunk of stream) if (chunk.queued && i === 300) positions.push((chunk.queued as QueuedNotice).position)
      const result = await stream.result
      completed.push(`a${i}`)
      return result
    })())
  })
  await until('300 of A\'s requests queued', async () => await queueDepth(platform.gateway, FAKE_MODEL) >= 299)
  // Order of service as the upstream saw it: what ran when B was sent, then at most one more of A's (dispatched while B was on its way).
  const startedBeforeB = fake.requests.length
  const bStream = gateway.stream(infer, { apiKey: b.key.key, model: FAKE_MODEL, prompt: 'b', maxTokens: 3 })
  const bResult = await bStream.result
  const bIndex = fake.requests.findIndex(r => /"(content|prompt)":"b"/.test(JSON.stringify(r.body)))
  const aBetween = bIndex - startedBeforeB
  t.ok(bIndex >= 0 && aBetween <= 1, `B started ${aBetween} of A's requests after the one running when it was sent (within 2 service times); ${completed.length} of A's 301 were done then`)
  t.equal(bResult.usage.completionTokens, 3)
  await until('the last of A\'s requests heard its position', async () => positions.length > 0)
  t.ok(positions[0] > 100, `a request deep in the queue was told its position (${positions[0]})`)

  aborts.abort()
  const outcomes = await Promise.all(burst)
  const answered = outcomes.filter(o => o.ok).length
  const cancelled = outcomes.filter(o => !o.ok && o.err.code === 'CANCELLED').length
  t.ok(cancelled > 200, `${cancelled} of A's requests cancelled while queued, ${answered} answered`)

  const logged = (await records(platform.gateway)).filter(r => r.userId === a.userId)
  const unbilled = logged.filter(r => r.billed === false)
  t.ok(unbilled.every(r => r.status === 'CANCELLED' && r.worker === null && r.completionTokens === 0), 'cancelled-while-queued records: status CANCELLED, not billed')
  t.ok(unbilled.length >= cancelled, `${unbilled.length} not-billed records`)
  const q = await gateway.call(quota, { apiKey: a.key.key })
  t.equal(q.requests.used, logged.length - unbilled.length, `the hourly count holds only what workers served (${q.requests.used})`)
  t.equal(q.tokens.reserved, 0, 'every reservation given back or settled')
  t.match(await metric(platform.gateway, 'ai_platform_refunds_total'), new RegExp(`reason="cancelled"} ${unbilled.length}`))
})

t.test('queue deadline -> TIMEOUT, full queue -> BUSY; both say which limit and when to retry, and are refunded', async t => {
  const platform = await createPlatform(t, { gateway: { queue: { ...QUEUE_DEFAULTS, maxPerModel: 2, timeoutMs: 1_500 } } })
  await fakeWorker(t, platform, { tokenDelayMs: 50 })
  await untilServed(platform.gateway, FAKE_MODEL)
  const { key, userId } = await platform.user('dora')
  const { gateway } = caller(t, platform)
  const request = { apiKey: key.key, model: FAKE_MODEL, prompt: 'go', maxTokens: 200 }

  const running = gateway.stream(infer, request)
  await running[Symbol.asyncIterator]().next()
  const askedShort = settle(gateway.stream(infer, { ...request, queueTimeoutMs: 300 }).result)
  const gatewayLimit = settle(gateway.stream(infer, request).result)
  await until('two requests queued', async () => await queueDepth(platform.gateway, FAKE_MODEL) === 2)
  const full = await settle(gateway.stream(infer, request).result)
  t.match(full, { ok: false, err: { code: 'BUSY', message: /queue .* is full.*gateway\.queue\.maxPerModel = 2.*retry in \d+ s/, details: { limit: 'gateway.queue.maxPerModel' } } })
  t.ok(!full.ok && full.err.retryAfterMs! >= 1000, 'BUSY says when to retry')

  t.match(await askedShort, { ok: false, err: { code: 'TIMEOUT', message: /within 300 ms \(limit queueTimeoutMs\).*retry in/, details: { limit: 'queueTimeoutMs' } } })
  t.match(await gatewayLimit, { ok: false, err: { code: 'TIMEOUT', message: /within 1500 ms \(limit gateway\.queue\.timeoutMs\)/, details: { limit: 'gateway.queue.timeoutMs' } } })

  const q = await gateway.call(quota, { apiKey: key.key })
  t.equal(q.requests.used, 1, 'only the request a worker took counts')
  t.ok(q.tokens.reserved > 0 && q.tokens.reserved < 300, `only its reservation stays (${q.tokens.reserved})`)
  running.abort()
  await running.result
  const logged = (await records(platform.gateway)).filter(r => r.userId === userId)
  t.same(logged.filter(r => r.billed === false).map(r => r.status).sort(), ['BUSY', 'TIMEOUT', 'TIMEOUT'], 'refused and timed-out requests are in the log, not billed')
  t.same(logged.filter(r => r.billed === true).map(r => r.status), ['CANCELLED'], 'the one that ran is billed')
  const refunds = await metric(platform.gateway, 'ai_platform_refunds_total')
  t.match(refunds, /reason="queue_timeout"} 2/)
  t.match(refunds, /reason="queue_full"} 1/)
  const counter = await platform.gateway.usage.dailyCounter(userId, new Date().toISOString().slice(0, 10))
  t.equal(counter?.requests, 1, 'the daily counter counts only the billed request')
})

t.test('an unserved model is refused, logged and not billed', async t => {
  const platform = await createPlatform(t)
  const { key, userId } = await platform.user('ursula')
  const { gateway } = caller(t, platform)
  const outcome = await settle(gateway.stream(infer, { apiKey: key.key, model: 'nobody-serves-this', prompt: 'x' }).result)
  t.match(outcome, { ok: false, err: { code: 'MODEL_UNAVAILABLE' } })
  const q = await gateway.call(quota, { apiKey: key.key })
  t.equal(q.requests.used, 0)
  t.match(await records(platform.gateway), [{ userId, status: 'MODEL_UNAVAILABLE', billed: false, worker: null }])
  t.match(await metric(platform.gateway, 'ai_platform_refunds_total'), /reason="unserved"} 1/)
})
