import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { OPENAI_FAKE_MODELS, startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { OpenAIBackend } from '../services/inference/backends/openai.js'
import { InferenceWorker } from '../services/inference/worker.js'
import { createLogger } from '../shared/log.js'
import { createRegistry, platformMetrics } from '../shared/metrics.js'
import { until } from './helpers/until.js'

/** A worker on one OpenAI-compatible upstream that lists its models (none configured), its catalog stale after 1 ms. */
async function workerOn (fakeUrl: string): Promise<InferenceWorker> {
  const log = createLogger('test', 'silent')
  const backend = new OpenAIBackend({
    config: { type: 'openai', name: 'hosted', baseURL: `${fakeUrl}/v1`, apiKeyEnv: 'KEY', prefix: '' },
    timeouts: { firstByteMs: 60_000, idleMs: 30_000 },
    log,
    env: { KEY: 'sk-test' }
  })
  const worker = new InferenceWorker({
    backends: [{ backend, prefix: '', concurrency: 4, queueSize: 4, maxTokens: 64 }],
    cache: { enabled: false, maxEntries: 1, maxBytes: 1024, ttlMs: 1 },
    metrics: platformMetrics(createRegistry()),
    log,
    catalogTtlMs: 1
  })
  await worker.start()
  return worker
}

t.test('a stale model catalog is refreshed beside requests: none waits for the upstream\'s model list', async t => {
  const fake = await startFakeOpenAI()
  const worker = await workerOn(fake.url)
  t.teardown(async () => { await fake.close(); await worker.close() })

  // From now on /v1/models never answers; generations still do.
  fake.mode = { kind: 'hang', paths: ['/v1/models'] }
  await sleep(5)
  const generation = worker.run({ model: 'gpt-fake', prompt: 'hi', maxTokens: 4 }, new AbortController().signal, () => {})
  const text: string[] = []
  let step = await generation.next()
  for (; step.done !== true; step = await generation.next()) text.push(step.value.text)
  t.equal(step.value.finishReason, 'length')
  t.equal(step.value.usage.completionTokens, 4)
  t.ok(text.join('').length > 0, 'the answer streamed')
  await until('the refresh to be under way', () => fake.hangingNow === 1)
  t.equal(fake.hangingNow, 1, 'the catalog refresh started with the request is still waiting on /v1/models')
})

t.test('an upstream that does not answer its model list keeps its models in the catalog', async t => {
  const fake = await startFakeOpenAI()
  const worker = await workerOn(fake.url)
  t.teardown(() => worker.close())
  t.same(worker.modelNames, OPENAI_FAKE_MODELS)

  await fake.close()
  await sleep(5)
  const listed = await worker.models()
  t.same(listed.map(m => m.name), OPENAI_FAKE_MODELS, 'the failed listing changed nothing')
  const generation = worker.run({ model: 'gpt-fake', prompt: 'hi', maxTokens: 4 }, new AbortController().signal, () => {})
  const failure = await generation.next().then(() => null, (err: unknown) => err)
  t.match(failure, { code: 'MODEL_UNAVAILABLE', message: /is unreachable/ }, 'a request reaches the backend and fails on the upstream, not as a model this worker does not serve')
})

t.test('a request for a model not in the catalog stops waiting for a fresh model list when its caller cancels', async t => {
  const fake = await startFakeOpenAI()
  const worker = await workerOn(fake.url)
  t.teardown(async () => { await fake.close(); await worker.close() })

  fake.mode = { kind: 'hang', paths: ['/v1/models'] }
  const caller = new AbortController()
  const generation = worker.run({ model: 'not-listed-yet', prompt: 'hi', maxTokens: 4 }, caller.signal, () => {})
  const failure = generation.next().then(() => null, (err: unknown) => err)
  await until('the refresh to be under way', () => fake.hangingNow === 1)
  caller.abort()
  t.match(await failure, { code: 'CANCELLED' }, 'the caller is answered at once, not after the 60-s first-byte timeout')
  t.equal(fake.hangingNow, 1, 'the listing itself goes on, for the next requests')
})

t.test('closing a worker ends the model listing it has in flight', async t => {
  const fake = await startFakeOpenAI()
  t.teardown(() => fake.close())
  const worker = await workerOn(fake.url)
  fake.mode = { kind: 'hang', paths: ['/v1/models'] }
  await sleep(5)
  const generation = worker.run({ model: 'gpt-fake', prompt: 'hi', maxTokens: 1 }, new AbortController().signal, () => {})
  for (let step = await generation.next(); step.done !== true; step = await generation.next());
  await until('the background refresh to be under way', () => fake.hangingNow === 1)
  await worker.close()
  await until('the upstream to see the listing go', () => fake.hangingNow === 0)
  t.equal(fake.hangingNow, 0, 'no listing is left waiting on the upstream')
})
