import { Command } from 'commander'
import t from 'tap'
import { loadConfig } from '../shared/config/load-config.js'
import { inferenceRole } from '../services/inference/role.js'
import { backendConfigs, BUNDLED_MODEL } from '../services/inference/backends/create-backends.js'
import { parseRetryAfter } from '../services/inference/backends/http-upstream.js'
import { ResponseCache } from '../services/inference/cache.js'
import { GenerationLimiter } from '../services/inference/generation-limiter.js'

function flagsOf (argv: string[]): Record<string, unknown> {
  const cmd = new Command()
  inferenceRole.flags?.declare(cmd)
  cmd.parse(argv, { from: 'user' })
  return inferenceRole.flags?.toConfig(cmd.opts()) ?? {}
}

t.test('flags, env and defaults become backends', async t => {
  const zero = loadConfig({ env: {} })
  t.same(backendConfigs(zero.inference), [{ type: 'llama', name: 'local', modelPath: BUNDLED_MODEL, threads: 1, contextSize: 2048, gpu: false }], 'zero set-up: the bundled model')

  const flagged = loadConfig({
    env: { OLLAMA_URL: 'http://127.0.0.1:11434' },
    flags: flagsOf(['--llama-model', BUNDLED_MODEL, '--openai-base-url', 'http://127.0.0.1:8000/v1', '--openai-model', 'a,b', '--concurrency', '2', '--queue', '3', '--no-cache'])
  })
  t.match(flagged.inference, { concurrency: 2, queueSize: 3, cache: { enabled: false } })
  t.match(backendConfigs(flagged.inference), [
    { type: 'llama', name: 'local', modelPath: BUNDLED_MODEL },
    { type: 'ollama', name: 'ollama', url: 'http://127.0.0.1:11434' },
    { type: 'openai', name: 'openai', baseURL: 'http://127.0.0.1:8000/v1', models: ['a', 'b'], apiKeyEnv: 'OPENAI_API_KEY' }
  ])
  t.throws(() => loadConfig({ env: {}, flags: { 'inference.backends': [{ type: 'llama', name: 'x' }] } }), { code: 'INVALID_ARGUMENT' }, 'a llama backend needs a model')
  t.throws(() => backendConfigs(loadConfig({ env: {}, flags: { 'inference.backends': [{ type: 'ollama', name: 'ollama' }], 'inference.ollamaUrl': 'http://127.0.0.1:1' } }).inference),
    { code: 'INVALID_ARGUMENT', message: /named "ollama"/ })
})

t.test('limiter: bounded running and queued, BUSY beyond, cancel while queued', async t => {
  const limiter = new GenerationLimiter(1, 1)
  const never = new AbortController().signal
  const release = await limiter.acquire(never, 'b')
  const queuedAbort = new AbortController()
  const queued = limiter.acquire(queuedAbort.signal, 'b')
  await t.rejects(limiter.acquire(never, 'b'), { code: 'BUSY' })
  queuedAbort.abort()
  await t.rejects(queued, { code: 'CANCELLED' })
  const next = limiter.acquire(never, 'b')
  t.equal(limiter.queued, 1)
  release()
  const releaseNext = await next
  t.equal(limiter.running, 1, 'the slot passed straight to the waiter')
  releaseNext()
  releaseNext()
  t.equal(limiter.running, 0, 'release is idempotent')
})

t.test('cache keys and Retry-After', async t => {
  const base = { model: 'm', prompt: 'p', temperature: 0 }
  t.ok(ResponseCache.cacheable(base))
  t.ok(ResponseCache.cacheable({ model: 'm', prompt: 'p', temperature: 1, seed: 1 }))
  t.notOk(ResponseCache.cacheable({ model: 'm', prompt: 'p' }))
  t.not(ResponseCache.key('b', base, 8), ResponseCache.key('b', base, 9), 'maxTokens is part of the key')
  t.not(ResponseCache.key('b', base, 8), ResponseCache.key('b', { ...base, prompt: 'q' }, 8))
  t.not(ResponseCache.key('b', base, 8), ResponseCache.key('b', { model: 'm', messages: [{ role: 'user', content: 'p' }], temperature: 0 }, 8))
  t.notMatch(ResponseCache.key('b', { ...base, prompt: 'secret prompt' }, 8), 'secret', 'the input is hashed')
  const cache = new ResponseCache({ maxEntries: 2, maxBytes: 1_000_000, ttlMs: 60_000 })
  for (const k of ['a', 'b', 'c']) cache.set(k, { chunks: [k], usage: { promptTokens: 1, completionTokens: 1, totalTokens: 2 }, finishReason: 'stop' })
  t.equal(cache.size, 2, 'bounded in entries')
  t.equal(cache.get('a'), undefined, 'least recently used goes first')
  t.equal(parseRetryAfter('3'), 3000)
  t.equal(parseRetryAfter(new Date(10_000).toUTCString(), 5_000), 5000)
  t.equal(parseRetryAfter(null), 1000)
})
