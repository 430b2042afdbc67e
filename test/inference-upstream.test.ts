import t from 'tap'
import { startFakeOllama, OLLAMA_FAKE_MODELS } from '../scripts/fakes/ollama-server.js'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { DEFAULT_REPLY, tokenize, type FakeServer } from '../scripts/fakes/common.js'
import { inferenceEmbed, inferenceModels, inferenceRun, type RunRequest } from '../shared/schemas/inference.js'
import type { PeerClient } from '../shared/mesh/peer-client.js'
import { createInferenceNode, type InferenceNode } from '../services/inference/role.js'
import { createTestMesh } from './helpers/mesh.js'
import { until } from './helpers/until.js'

const LONG_REPLY = Array.from({ length: 300 }, (_, i) => `word${i}`).join(' ')

interface Setup { worker: InferenceNode, client: PeerClient, ollama: FakeServer, openai: FakeServer }

async function setup (t: { teardown (fn: () => unknown): void }, limits: { concurrency: number, queueSize: number } = { concurrency: 4, queueSize: 4 }): Promise<Setup> {
  const mesh = await createTestMesh(t)
  const ollama = await startFakeOllama()
  const openai = await startFakeOpenAI()
  mesh.closeLater(() => ollama.close())
  mesh.closeLater(() => openai.close())
  const worker = await createInferenceNode({
    dataDir: mesh.dir('inference'),
    network: mesh.network,
    bootstrap: mesh.bootstrap,
    env: { FAKE_OPENAI_KEY: 'sk-test' },
    config: {
      ...limits,
      timeouts: { firstByteMs: 600, idleMs: 400 },
      backends: [
        { type: 'ollama', name: 'ollama', url: ollama.url, prefix: 'ollama/', models: [...OLLAMA_FAKE_MODELS, 'gone:latest'] },
        { type: 'openai', name: 'hosted', baseURL: `${openai.url}/v1`, apiKeyEnv: 'FAKE_OPENAI_KEY', prefix: '', models: ['gpt-fake', 'gpt-gone'] },
        { type: 'openai', name: 'dead', baseURL: 'http://127.0.0.1:1/v1', apiKeyEnv: 'FAKE_OPENAI_KEY', prefix: 'dead/', models: ['model'] }
      ]
    }
  })
  mesh.closeLater(() => worker.close())
  const caller = await mesh.node({ role: 'gateway' })
  return { worker, client: caller.client(worker.publicKey), ollama, openai }
}

async function collect (client: PeerClient, request: RunRequest): Promise<{ text: string[], final: Awaited<ReturnType<typeof client.stream<typeof inferenceRun>>['result']> }> {
  const stream = client.stream(inferenceRun, request)
  const text: string[] = []
  for await (const chunk of stream) text.push(chunk.text)
  return { text, final: await stream.result }
}

/** Requests of `model` at the worker, running or waiting for a slot. */
async function atWorker (worker: InferenceNode, model: string): Promise<number> {
  const text = await worker.node.registry.getSingleMetricAsString('ai_platform_inference_queue_depth')
  const line = text.split('\n').find(l => l.includes(`model="${model}"`))
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0
}

t.test('Ollama and OpenAI-compatible backends through the real clients', async t => {
  const { worker, client, ollama, openai } = await setup(t)

  const { models } = await client.call(inferenceModels, {})
  t.same(models.map(m => [m.name, m.backend, m.status]), [
    ['ollama/llama3.2:latest', 'ollama', 'ready'],
    ['ollama/qwen2.5:0.5b', 'ollama', 'ready'],
    ['ollama/gone:latest', 'ollama', 'unavailable'],
    ['gpt-fake', 'hosted', 'ready'],
    ['gpt-gone', 'hosted', 'ready'],
    ['dead/model', 'dead', 'unavailable']
  ])

  const words = tokenize(DEFAULT_REPLY)
  const generated = await collect(client, { model: 'ollama/llama3.2:latest', prompt: 'Tell me a story', maxTokens: 5 })
  t.same(generated.text, words.slice(0, 5), 'ollama /api/generate streamed piece by piece')
  t.same(generated.final.usage, { promptTokens: 4, completionTokens: 5, totalTokens: 9 }, 'usage from the final NDJSON line')
  t.match(generated.final, { finishReason: 'length', backend: 'ollama', cached: false })
  t.match(ollama.requests.at(-1), { path: '/api/generate', body: { model: 'llama3.2:latest', stream: true, options: { num_predict: 5 } } })

  const chat = await collect(client, { model: 'ollama/qwen2.5:0.5b', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi' }], maxTokens: 100, temperature: 0.5 })
  t.equal(chat.text.join(''), DEFAULT_REPLY, 'ollama /api/chat')
  t.match(chat.final, { finishReason: 'stop', usage: { promptTokens: 3, completionTokens: words.length } })
  t.match(ollama.requests.at(-1), { path: '/api/chat', body: { model: 'qwen2.5:0.5b', messages: [{ role: 'system' }, { role: 'user', content: 'hi' }], options: { temperature: 0.5 } } })

  const hosted = await collect(client, { model: 'gpt-fake', prompt: 'Tell me a story', maxTokens: 64, topP: 0.9, stop: ['END'] })
  t.equal(hosted.text.join(''), DEFAULT_REPLY)
  t.equal(hosted.text.length, words.length, 'one chunk per SSE delta')
  t.same(hosted.final.usage, { promptTokens: 4, completionTokens: words.length, totalTokens: 4 + words.length }, 'usage from the include_usage chunk')
  t.match(hosted.final, { finishReason: 'stop', backend: 'hosted', model: 'gpt-fake' })
  t.match(openai.requests.at(-1)?.body, { model: 'gpt-fake', stream: true, stream_options: { include_usage: true }, max_tokens: 64, top_p: 0.9, stop: ['END'], messages: [{ role: 'user', content: 'Tell me a story' }] })
  t.match((await collect(client, { model: 'gpt-fake', prompt: 'x', maxTokens: 3 })).final, { finishReason: 'length', usage: { completionTokens: 3 } })

  const embedded = await client.call(inferenceEmbed, { model: 'ollama/llama3.2:latest', input: ['a b', 'c'] })
  t.equal(embedded.embeddings.length, 2)
  t.match(embedded, { backend: 'ollama', usage: { promptTokens: 3 } })
  t.equal((await client.call(inferenceEmbed, { model: 'gpt-fake', input: 'one two' })).embeddings.length, 1, 'openai /v1/embeddings')

  // deterministic repeats: served from the cache without reaching the upstream
  const before = openai.requests.length
  const first = await collect(client, { model: 'gpt-fake', prompt: 'same', maxTokens: 8, temperature: 0 })
  const second = await collect(client, { model: 'gpt-fake', prompt: 'same', maxTokens: 8, temperature: 0 })
  const seeded = await collect(client, { model: 'gpt-fake', prompt: 'same', maxTokens: 8, temperature: 0.7, seed: 3 })
  const seededAgain = await collect(client, { model: 'gpt-fake', prompt: 'same', maxTokens: 8, temperature: 0.7, seed: 3 })
  t.equal(openai.requests.length, before + 2, 'one upstream call per distinct deterministic request')
  t.same([first.final.cached, second.final.cached, seeded.final.cached, seededAgain.final.cached], [false, true, false, true])
  t.same(second.text, first.text, 'cached text is streamed as chunks too')
  t.same(second.final.usage, first.final.usage, 'cached answers still report usage')
  await collect(client, { model: 'gpt-fake', prompt: 'same', maxTokens: 8, temperature: 0.7 })
  t.equal(openai.requests.length, before + 3, 'sampled requests are never cached')

  const text = await worker.node.registry.metrics()
  t.match(text, /ai_platform_tokens_total\{model="gpt-fake",kind="completion"\} \d+/)
  t.match(text, /ai_platform_request_duration_seconds_count\{service="inference",method="inference.run",model="gpt-fake"\} \d+/, 'duration histogram carries the model')
  t.match(text, 'ai_platform_cache_hits_total 2')
  t.match(text, /ai_platform_inference_queue_depth\{model="gpt-fake"\} 0/)
  t.match(text, /ai_platform_time_to_first_token_seconds_count\{model="ollama\/llama3.2:latest"\} 1/)
})

t.test('upstream failures become coded errors, never a hang', async t => {
  const { client, ollama, openai } = await setup(t)
  const cases: [FakeServer, string][] = [[ollama, 'ollama/llama3.2:latest'], [openai, 'gpt-fake']]
  for (const [fake, model] of cases) {
    const run = (request: Partial<RunRequest> = {}): Promise<unknown> => collect(client, { model, prompt: 'hi', maxTokens: 50, ...request })
    fake.mode = { kind: 'status', status: 401, message: 'invalid api key' }
    await t.rejects(run(), { code: 'UPSTREAM_ERROR', message: /401.*invalid api key/ }, `${model}: 401`)
    fake.mode = { kind: 'status', status: 429, message: 'slow down', retryAfter: '3' }
    const limited = await run().catch((err: { retryAfterMs?: number }) => err)
    t.match(limited, { code: 'RATE_LIMITED', message: /slow down/ }, `${model}: 429`)
    if (fake === openai) t.equal((limited as { retryAfterMs?: number }).retryAfterMs, 3000, 'Retry-After becomes retryAfterMs')
    fake.mode = { kind: 'status', status: 500, message: 'kaput' }
    await t.rejects(run(), { code: 'UPSTREAM_ERROR', message: /500.*kaput/ }, `${model}: 500`)
    fake.mode = { kind: 'cut', afterChunks: 3 }
    const cut = client.stream(inferenceRun, { model, prompt: 'hi', maxTokens: 50 })
    const got: string[] = []
    const cutErr = await (async () => { for await (const c of cut) got.push(c.text) })().then(() => cut.result).catch(err => err)
    t.match(cutErr, { code: 'UPSTREAM_ERROR', message: /broke off/ }, `${model}: stream cut mid-way`)
    t.equal(got.length, 3, 'the chunks before the cut arrived')
    fake.mode = { kind: 'hang' }
    await t.rejects(run(), { code: 'TIMEOUT', message: /within 600 ms/ }, `${model}: a server that never answers`)
    fake.mode = null
  }
  await t.rejects(collect(client, { model: 'ollama/gone:latest', prompt: 'hi' }), { code: 'MODEL_UNAVAILABLE', message: /gone:latest.*404/ }, 'ollama: unknown model')
  await t.rejects(collect(client, { model: 'gpt-gone', prompt: 'hi' }), { code: 'MODEL_UNAVAILABLE', message: /gpt-gone.*404/ }, 'openai: unknown model')
  await t.rejects(collect(client, { model: 'dead/model', prompt: 'hi' }), { code: 'MODEL_UNAVAILABLE', message: /backend dead \(openai\) model "model" is unreachable/ }, 'unreachable backend')
  t.match((await collect(client, { model: 'gpt-fake', prompt: 'hi', maxTokens: 2 })).final, { finishReason: 'length' }, 'still serving after all that')
})

t.test('bounded queue answers BUSY at once; aborts close the upstream request and keep usage', async t => {
  const { worker, client, ollama, openai } = await setup(t, { concurrency: 1, queueSize: 1 })
  for (const [fake, model] of [[openai, 'gpt-fake'], [ollama, 'ollama/llama3.2:latest']] as const) {
    fake.options.reply = LONG_REPLY
    fake.options.tokenDelayMs = 15
    const running = client.stream(inferenceRun, { model, prompt: 'long', maxTokens: 300 })
    const it = running[Symbol.asyncIterator]()
    await it.next()
    const queued = client.stream(inferenceRun, { model, prompt: 'long', maxTokens: 300 })
    let runningDone = false
    running.result.finally(() => { runningDone = true }).catch(() => {})
    await until('the second request to wait for the slot at the worker', async () => await atWorker(worker, model) === 2)
    const third = await client.stream(inferenceRun, { model, prompt: 'long', maxTokens: 300 }).result.catch(err => err)
    t.match(third, { code: 'BUSY', retryAfterMs: 1000 }, `${model}: the third parallel request is refused`)
    t.notOk(runningDone, 'while the first is still generating')

    const abortsBefore = fake.clientAborts
    for (let i = 0; i < 3; i++) await it.next()
    await it.return?.()
    const partial = await running.result
    t.equal(partial.finishReason, 'cancelled', `${model}: aborted`)
    t.ok(partial.usage.completionTokens >= 4 && partial.usage.completionTokens < 300, `usage of the produced part (${partial.usage.completionTokens} tokens)`)
    t.ok(partial.usage.promptTokens > 0)
    await until('the fake to see the connection closed', () => fake.clientAborts > abortsBefore)
    t.equal(fake.clientAborts, abortsBefore + 1, `${model}: the upstream saw the request go away, and only that one`)

    const queuedIt = queued[Symbol.asyncIterator]()
    await queuedIt.next()
    queued.abort()
    t.equal((await queued.result).finishReason, 'cancelled', 'the queued one ran once the first was gone')
    fake.options.reply = undefined
    fake.options.tokenDelayMs = 0
  }
})
