import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { OpenAIBackend } from '../services/inference/backends/openai.js'
import { InferenceWorker } from '../services/inference/worker.js'
import { createLogger } from '../shared/log.js'
import { createRegistry, platformMetrics } from '../shared/metrics.js'
import { until } from './helpers/until.js'

t.test('a stale model catalog is refreshed beside requests: none waits for the upstream\'s model list', async t => {
  const fake = await startFakeOpenAI()
  const log = createLogger('test', 'silent')
  const backend = new OpenAIBackend({
    config: { type: 'openai', name: 'hosted', baseURL: `${fake.url}/v1`, apiKeyEnv: 'KEY', prefix: '' },
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
