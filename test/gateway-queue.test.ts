import { spawn } from 'node:child_process'
import { join } from 'node:path'
import t from 'tap'
import { HyperinferClient } from '../client-cli/client.js'
import { startFakeOpenAI, type FakeServer } from '../scripts/fakes/openai-server.js'
import { gatewaySection } from '../shared/config/gateway.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { infer, quota, type InferResult, type QueuedNotice } from '../shared/schemas/gateway.js'
import type { RequestRecord } from '../services/gateway/usage-log.js'
import type { GatewayNode } from '../services/gateway/index.js'
import { BUNDLED_MODEL, createPlatform, untilServed, type Platform } from './helpers/platform.js'
import { spawnRole } from './helpers/processes.js'
import { writeTestDevnet } from './helpers/cli.js'
import { until } from './helpers/until.js'

const FAKE_MODEL = 'gpt-fake'
const LONG_REPLY = Array.from({ length: 400 }, (_, i) => `word${i} `).join('')
const QUEUE_DEFAULTS = gatewaySection.parse({}).queue
process.env.OPENAI_API_KEY ??= 'sk-test'

type Test = { teardown (fn: () => unknown): void }
type Outcome = { ok: true, result: InferResult } | { ok: false, err: Error & { code: string, retryAfterMs?: number, details?: { limit?: string } } }

function settle (p: Promise<InferResult>): Promise<Outcome> {
  return p.then(result => ({ ok: true as const, result }), err => ({ ok: false as const, err }))
}

function caller (t: Test, platform: Platform) {
  const mesh = new MeshClient({ network: platform.mesh.network, bootstrap: platform.mesh.bootstrap })
  t.teardown(() => mesh.close())
  return { mesh, gateway: mesh.client(platform.gateway.node.publicKey) }
}

async function fakeWorker (t: Test, platform: Platform, opts: { tokenDelayMs?: number, concurrency?: number } = {}): Promise<FakeServer> {
  const fake = await startFakeOpenAI({ tokenDelayMs: opts.tokenDelayMs ?? 0, reply: LONG_REPLY })
  t.teardown(() => fake.close())
  await platform.worker({ openaiBaseUrl: `${fake.url}/v1`, openaiModels: [FAKE_MODEL], concurrency: opts.concurrency ?? 1 })
  return fake
}

async function records (gateway: GatewayNode): Promise<RequestRecord[]> {
  await gateway.usage.drain()
  const all: RequestRecord[] = []
  for await (const record of gateway.usage.requestsSince('2000-01-01')) all.push(record)
  return all
}

async function metric (gateway: GatewayNode, name: string): Promise<string> {
  return gateway.node.registry.getSingleMetricAsString(name)
}

async function queueDepth (gateway: GatewayNode, model: string): Promise<number> {
  const text = await metric(gateway, 'ai_platform_queue_depth')
  const match = text.match(new RegExp(`model="${model}"} (\\d+)`))
  return match ? Number(match[1]) : 0
}

t.test('the burst: 150 parallel requests on a 100/hour key, bundled model, one worker at concurrency 1', async t => {
  const platform = await createPlatform(t)
  const worker = await platform.worker({ llamaModel: BUNDLED_MODEL, concurrency: 1 })
  await untilServed(platform.gateway, 'stories260K')
  const { key } = await platform.user('burst')
  const { mesh } = caller(t, platform)
  const client = new HyperinferClient({ apiKey: key.key, mesh })

  let notices = 0
  const calls = Array.from({ length: 150 }, () => {
    const call = client.infer({ model: 'stories260K', prompt: 'Once upon a time', maxTokens: 24, onQueued: () => { notices++ } })
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

t.test('hyperinfer infer prints "queued (position N)" on stderr while it waits for a worker', async t => {
  const platform = await createPlatform(t)
  await fakeWorker(t, platform, { tokenDelayMs: 50 })
  await untilServed(platform.gateway, FAKE_MODEL)
  const { key } = await platform.user('quinn')
  const { gateway } = caller(t, platform)
  const holder = gateway.stream(infer, { apiKey: key.key, model: FAKE_MODEL, prompt: 'hold', maxTokens: 2_000 })
  await holder[Symbol.asyncIterator]().next()

  const home = t.testdir()
  writeTestDevnet(home, platform.mesh.network.name, platform.mesh.bootstrap)
  const cli = spawn(process.execPath, [join(import.meta.dirname, '..', 'client-cli', 'bin.js'), 'infer', '-m', FAKE_MODEL, '--max-tokens', '3', '--api-key', key.key, 'hi'], {
    env: { ...process.env, HYPERINFER_HOME: home, HYPERINFER_CONFIG_DIR: join(home, 'config'), HYPERINFER_BOOTSTRAP: '', HYPERINFER_NETWORK: '', LOG_LEVEL: 'silent' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { cli.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  cli.stdout.on('data', chunk => { stdout += chunk })
  const exited = new Promise<number | null>(resolve => cli.once('close', resolve))
  // The slot is held until the CLI says it waits; then it frees and the CLI is served.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no queued notice; stderr so far: ${stderr}`)) }, 60_000)
    cli.stderr.on('data', chunk => {
      stderr += chunk
      if (/queued \(position 1\)/.test(stderr)) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  holder.abort()
  await holder.result
  t.equal(await exited, 0, 'the CLI is served once the slot frees')
  t.match(stderr, /^queued \(position 1\)$/m)
  t.ok(stdout.trim().length > 0, `it printed the answer: ${stdout.trim()}`)
})

t.test('two gateways share one worker slot and no worker queue: a request that loses the race goes back to its queue, none fails', async t => {
  const platform = await createPlatform(t)
  const fake = await startFakeOpenAI({ tokenDelayMs: 5, reply: LONG_REPLY })
  t.teardown(() => fake.close())
  const worker = await platform.worker({ openaiBaseUrl: `${fake.url}/v1`, openaiModels: [FAKE_MODEL], concurrency: 1, queueSize: 0 })
  const { createGatewayNode } = await import('../services/gateway/index.js')
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
