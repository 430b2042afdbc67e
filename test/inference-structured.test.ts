import t from 'tap'
import { HyperinferError } from '../shared/errors.js'
import { createLogger } from '../shared/log.js'
import { BUNDLED_MODEL } from '../services/inference/backends/create-backends.js'
import { LlamaBackend } from '../services/inference/backends/llama.js'

t.test('llama refuses tools and JSON formats with a coded error naming the model', async t => {
  const backend = new LlamaBackend({ config: { type: 'llama', name: 'local', modelPath: BUNDLED_MODEL, threads: 1, contextSize: 256, gpu: false }, concurrency: 1, log: createLogger('test') })
  await backend.start()
  t.teardown(() => backend.close())
  const base = { model: 'stories260K', messages: [{ role: 'user' as const, content: 'hi' }], maxTokens: 4 }
  const asks = [
    { tools: [{ type: 'function' as const, function: { name: 'get_weather' } }] },
    { toolChoice: 'required' as const },
    { responseFormat: { type: 'json_object' as const } }
  ]
  for (const ask of asks) {
    const err = await backend.generate({ ...base, ...ask }, new AbortController().signal).next().catch(e => e)
    t.type(err, HyperinferError)
    t.equal(err.code, 'INVALID_ARGUMENT', JSON.stringify(ask))
    t.match(err.message, /model "stories260K".*does not support tools, tool_choice or response_format/)
  }
  // text and tool_choice "none" are no structured output: it still generates
  const plain = backend.generate({ ...base, toolChoice: 'none', responseFormat: { type: 'text' } }, new AbortController().signal)
  let text = ''
  for (let step = await plain.next(); !step.done; step = await plain.next()) text += step.value.text
  t.ok(text.length > 0, 'generated text')
})
