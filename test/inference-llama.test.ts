import { join } from 'node:path'
import t from 'tap'
import { getLlama, LlamaCompletion } from 'node-llama-cpp'
import { health } from '../shared/schemas/mesh.js'
import { inferenceModels, inferenceModelStatus, inferenceRun } from '../shared/schemas/inference.js'
import { createInferenceNode } from '../services/inference/role.js'
import { BUNDLED_MODEL } from '../services/inference/backends/create-backends.js'
import { createTestMesh } from './helpers/mesh.js'
import { LlamaBackend } from '../services/inference/backends/llama.js'
import type { GenerateResult } from '../services/inference/backends/types.js'
import { llamaBackendConfig } from '../shared/config/inference.js'
import { createLogger } from '../shared/log.js'

const PROMPT = 'Once upon a time'

async function direct (maxTokens: number): Promise<{ text: string, completionTokens: number, promptTokens: number }> {
  const llama = await getLlama({ gpu: false, build: 'never' })
  const model = await llama.loadModel({ modelPath: BUNDLED_MODEL })
  const context = await model.createContext({ contextSize: 2048, threads: 1 })
  let completionTokens = 0
  const completion = new LlamaCompletion({ contextSequence: context.getSequence() })
  const text = await completion.generateCompletion(PROMPT, { maxTokens, temperature: 0, onToken: tokens => { completionTokens += tokens.length } })
  // what LlamaCompletion evaluates: the start token, then the prompt without a leading space
  const promptTokens = model.tokenize(PROMPT, false, 'trimLeadingSpace').length + (model.tokens.shouldPrependBosToken ? 1 : 0)
  await context.dispose()
  await model.dispose()
  return { text, completionTokens, promptTokens }
}

t.test('the bundled stories260K model through the worker RPC matches node-llama-cpp called directly', async t => {
  const mesh = await createTestMesh(t)
  const worker = await createInferenceNode({
    dataDir: mesh.dir('inference'),
    network: mesh.network,
    bootstrap: mesh.bootstrap,
    config: { llamaModel: BUNDLED_MODEL, maxTokens: 256 }
  })
  mesh.closeLater(() => worker.close())
  const caller = await mesh.node({ role: 'gateway' })
  const client = caller.client(worker.publicKey)

  const expected = await direct(32)
  t.ok(expected.text.startsWith(', there was a little girl named Lily'), 'direct greedy continuation as documented')

  const stream = client.stream(inferenceRun, { model: 'stories260K', prompt: PROMPT, maxTokens: 32, temperature: 0 })
  const chunks: string[] = []
  for await (const chunk of stream) chunks.push(chunk.text)
  const final = await stream.result
  t.equal(chunks.join(''), expected.text, 'same text as the direct call')
  t.ok(chunks.length >= 16, `streamed token by token (${chunks.length} chunks for ${final.usage.completionTokens} tokens)`)
  t.same(final.usage, { promptTokens: expected.promptTokens, completionTokens: expected.completionTokens, totalTokens: expected.promptTokens + expected.completionTokens })
  t.equal(final.usage.completionTokens, 32)
  t.match(final, { model: 'stories260K', backend: 'local', finishReason: 'length', cached: false })
  t.type(final.timeToFirstTokenMs, 'number')

  const again = client.stream(inferenceRun, { model: 'stories260K', prompt: PROMPT, maxTokens: 32, temperature: 0 })
  const againChunks: string[] = []
  for await (const chunk of again) againChunks.push(chunk.text)
  const cached = await again.result
  t.equal(cached.cached, true, 'the repeat is served from the cache')
  t.same(againChunks, chunks, 'and streams the same chunks')
  t.same(cached.usage, final.usage, 'with the same usage')
  const metrics = await worker.node.registry.getSingleMetricAsString('ai_platform_tokens_total')
  t.match(metrics, `ai_platform_tokens_total{model="stories260K",kind="completion"} 32`, 'the backend was not asked again')
  t.match(await worker.node.registry.getSingleMetricAsString('ai_platform_cache_hits_total'), 'ai_platform_cache_hits_total 1')

  const { models } = await client.call(inferenceModels, {})
  t.same(models, [{ name: 'stories260K', backend: 'local', backendType: 'llama', contextLength: 2048, status: 'ready' }])
  t.match(await client.call(inferenceModelStatus, { model: 'stories260K' }), { status: 'ready', running: 0, queued: 0, concurrency: 1 })
  t.match((await client.call(health, {})).details, { models: ['stories260K'] }, 'health lists the models')
  await t.rejects(client.call(inferenceModelStatus, { model: 'nope' }), { code: 'MODEL_UNAVAILABLE' })
  await t.rejects(client.stream(inferenceRun, { model: 'nope', prompt: 'x' }).result, { code: 'MODEL_UNAVAILABLE', message: /nope/ })
  await t.rejects(client.stream(inferenceRun, { model: 'stories260K' } as never).result, { code: 'INVALID_ARGUMENT' }, 'prompt or messages required')

  const chat = client.stream(inferenceRun, { model: 'stories260K', messages: [{ role: 'user', content: PROMPT }], maxTokens: 8, temperature: 0 })
  const chatText: string[] = []
  for await (const chunk of chat) chatText.push(chunk.text)
  t.equal(chatText.join(''), chunks.join('').slice(0, chatText.join('').length), 'messages on a base model become a plain prompt')
  t.equal((await chat.result).usage.completionTokens, 8)

  // abort: a long sampled generation stopped after a few chunks reports what it produced
  const long = client.stream(inferenceRun, { model: 'stories260K', prompt: PROMPT, maxTokens: 250, temperature: 0.8, seed: 7 })
  let seen = 0
  for await (const _ of long) if (++seen === 4) break
  const partial = await long.result
  t.equal(partial.finishReason, 'cancelled')
  t.ok(partial.usage.completionTokens >= 4 && partial.usage.completionTokens < 250, `generation stopped early (${partial.usage.completionTokens} tokens)`)
  t.ok(partial.usage.promptTokens > 0)
  t.equal((await client.call(inferenceModelStatus, { model: 'stories260K' })).running, 0, 'the sequence went back to the pool')
  const after = client.stream(inferenceRun, { model: 'stories260K', prompt: PROMPT, maxTokens: 4, temperature: 0 })
  for await (const _ of after) { /* drain */ }
  const afterUsage = (await after.result).usage
  t.equal(afterUsage.completionTokens, 4, 'the worker keeps serving after an abort')
  t.equal(afterUsage.cachedPromptTokens, afterUsage.promptTokens - 1, 'on the sequence the aborted request left: all but the last prompt token kept')
})

t.test('a missing model file is a clear error naming the path', async t => {
  const mesh = await createTestMesh(t)
  const missing = join(mesh.dir('models'), 'missing.gguf')
  await t.rejects(createInferenceNode({ dataDir: mesh.dir('inference'), network: mesh.network, bootstrap: mesh.bootstrap, config: { llamaModel: missing } }),
    { code: 'MODEL_UNAVAILABLE', message: new RegExp(`not found: ${missing}.*--llama-model`) })
})

t.test('a prompt that shares a prefix with the previous request is evaluated from where they differ', async t => {
  const backend = new LlamaBackend({
    config: llamaBackendConfig.parse({ type: 'llama', modelPath: BUNDLED_MODEL }),
    concurrency: 1,
    log: createLogger('llama-test', 'silent')
  })
  await backend.start()
  t.teardown(() => backend.close())
  const system = 'Lily and her friend Ben went to the park to play on the swings and eat apples. '.repeat(8)
  const run = async (prompt: string): Promise<{ text: string, result: GenerateResult }> => {
    const generation = backend.generate({ model: 'stories260K', prompt, maxTokens: 8, temperature: 0 }, new AbortController().signal)
    let text = ''
    for (;;) {
      const step = await generation.next()
      if (step.done === true) return { text, result: step.value }
      text += step.value.text
    }
  }
  const first = await run(system + 'Then Lily said')
  t.equal(first.result.cachedPromptTokens, 0, 'the first request evaluates its whole prompt')
  t.ok(first.text.length > 0, 'and generates')
  const second = await run(system + 'Then Ben said')
  const shared = first.result.promptTokens - 3
  t.ok((second.result.cachedPromptTokens ?? 0) >= shared,
    `the second reuses the shared prefix (${second.result.cachedPromptTokens} of ${second.result.promptTokens} prompt tokens)`)
  t.ok((second.result.cachedPromptTokens ?? 0) < second.result.promptTokens, 'and evaluates at least its last token')
  t.equal(second.result.completionTokens, 8)
  const unrelated = await run('A dog')
  t.ok((unrelated.result.cachedPromptTokens ?? 0) <= 1, 'an unrelated prompt reuses nothing but the start token')
})
