import type { FastifyInstance, FastifyReply } from 'fastify'
import { z } from 'zod'
import { HyperinferError, toHyperinferError } from '../errors.js'
import { VERSION } from '../mesh/mesh-node.js'
import type { InferResult } from '../schemas/gateway.js'
import type { ChatMessage, ToolCall } from '../schemas/generation.js'
import { fromFastifyError, sendOllamaError } from './errors.js'
import { checkGeneration, embedFor, newRequestId, parseBody, remaining, requestKey, startGeneration, type CompatOptions } from './request.js'
import { openStream } from './stream-writer.js'
import type { GenerationInput } from './gateway-upstream.js'

const options = z.object({
  num_predict: z.number().int().optional(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  stop: z.array(z.string()).optional(),
  seed: z.number().int().optional()
}).optional()

const common = {
  model: z.string().min(1),
  stream: z.boolean().optional(),
  format: z.union([z.literal(''), z.literal('json'), z.record(z.string(), z.unknown())]).optional(),
  options,
  keep_alive: z.union([z.string(), z.number()]).optional()
}

const ollamaMessage = z.object({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string().default(''),
  images: z.array(z.string()).max(0, 'images are not supported').optional(),
  tool_calls: z.array(z.object({ function: z.object({ name: z.string(), arguments: z.record(z.string(), z.unknown()).default({}) }) })).optional(),
  tool_name: z.string().optional()
})

const chatBody = z.object({
  ...common,
  messages: z.array(ollamaMessage).min(1),
  tools: z.array(z.object({ type: z.literal('function'), function: z.object({ name: z.string(), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional() }) })).optional()
})

const generateBody = z.object({ ...common, prompt: z.string().optional(), system: z.string().optional(), images: z.array(z.string()).max(0, 'images are not supported').optional() })

const embedBody = z.object({ model: z.string().min(1), input: z.union([z.string(), z.array(z.string()).min(1)]), truncate: z.boolean().optional() })

/**
 * Ollama's API over the mesh, as a fastify plugin: /api/chat and /api/generate (NDJSON streams by
 * default, as Ollama does), /api/tags, /api/embed, /api/version. Errors as `{ error }`.
 */
export async function ollamaCompat (app: FastifyInstance, opts: CompatOptions): Promise<void> {
  const { upstream } = opts
  app.addHook('onRequest', async (_req, reply) => { reply.header('x-request-id', newRequestId()) })
  app.setErrorHandler(async (err: unknown, req, reply) => {
    const coded = err instanceof HyperinferError ? err : fromFastifyError(err as { statusCode?: number, message: string })
    if (coded.code === 'INTERNAL') req.log.error({ err }, 'ollama-compatible request failed')
    return sendOllamaError(reply, coded)
  })

  app.get('/version', async () => ({ version: VERSION }))

  app.get('/tags', async () => toOllamaTags(await upstream.models()))

  app.post('/embed', async req => {
    const apiKey = requestKey(req, opts.keyPolicy)
    const body = parseBody(embedBody, req.body)
    const started = performance.now()
    const answer = await embedFor(upstream, req, apiKey, body.model, body.input)
    const ns = Math.round((performance.now() - started) * 1e6)
    return { model: answer.model, embeddings: answer.embeddings, total_duration: ns, load_duration: 0, prompt_eval_count: answer.usage.promptTokens }
  })

  app.post('/chat', async (req, reply) => {
    const apiKey = requestKey(req, opts.keyPolicy)
    const body = parseBody(chatBody, req.body)
    const generation = checkGeneration({
      model: body.model,
      messages: toMessages(body.messages),
      ...sampling(body.options),
      responseFormat: toResponseFormat(body.format),
      tools: body.tools
    })
    return await generate(upstream, reply, apiKey, generation, body.stream !== false, 'chat')
  })

  app.post('/generate', async (req, reply) => {
    const apiKey = requestKey(req, opts.keyPolicy)
    const body = parseBody(generateBody, req.body)
    // Ollama answers an empty prompt by loading the model: there is nothing to load here
    if (body.prompt === undefined || body.prompt === '') return { model: body.model, created_at: new Date().toISOString(), response: '', done: true, done_reason: 'load' }
    const generation = checkGeneration({
      model: body.model,
      ...(body.system !== undefined ? { messages: [{ role: 'system', content: body.system }, { role: 'user', content: body.prompt }] } : { prompt: body.prompt }),
      ...sampling(body.options),
      responseFormat: toResponseFormat(body.format)
    })
    return await generate(upstream, reply, apiKey, generation, body.stream !== false, 'generate')
  })
}

/** One chat or generate call: NDJSON parts as tokens arrive, or one answer when `stream` is false. */
async function generate (upstream: CompatOptions['upstream'], reply: FastifyReply, apiKey: string, generation: GenerationInput, stream: boolean, kind: 'chat' | 'generate'): Promise<unknown> {
  const startedAt = performance.now()
  const started = await startGeneration(upstream, apiKey, generation, reply)
  const part = (text: string, done: boolean): Record<string, unknown> => kind === 'chat'
    ? { model: generation.model, created_at: new Date().toISOString(), message: { role: 'assistant', content: text }, done }
    : { model: generation.model, created_at: new Date().toISOString(), response: text, done }
  const final = (result: InferResult): Record<string, unknown> => {
    const last = part(stream ? '' : result.text, true)
    if (kind === 'chat' && result.toolCalls?.length) (last.message as Record<string, unknown>).tool_calls = result.toolCalls.map(toOllamaToolCall)
    const ns = Math.round((performance.now() - startedAt) * 1e6)
    return {
      ...last,
      done_reason: result.finishReason === 'length' ? 'length' : 'stop',
      total_duration: ns,
      load_duration: 0,
      prompt_eval_count: result.usage.promptTokens,
      prompt_eval_duration: 0,
      eval_count: result.usage.completionTokens,
      eval_duration: ns
    }
  }
  if (!stream) {
    for await (const _chunk of remaining(started)) { /* the result carries the whole text */ }
    return final(await started.stream.result)
  }
  const out = openStream(reply, 'application/x-ndjson')
  try {
    for await (const chunk of remaining(started)) {
      if (out.gone()) break
      // tool calls go out whole with the final message, as Ollama sends them
      if (chunk.text !== '') await out.write(JSON.stringify(part(chunk.text, false)) + '\n')
    }
    out.end(JSON.stringify(final(await started.stream.result)) + '\n')
  } catch (err) {
    out.end(JSON.stringify({ error: toHyperinferError(err).message }) + '\n')
  }
  return reply
}

/** The mesh's models as Ollama lists its local ones (no sizes or digests to tell). */
function toOllamaTags (list: Awaited<ReturnType<CompatOptions['upstream']['models']>>): Record<string, unknown> {
  return {
    models: list.models.map(m => ({
      name: m.name,
      model: m.name,
      modified_at: new Date(0).toISOString(),
      size: 0,
      digest: '',
      details: { parent_model: '', format: '', family: m.backends.join(','), families: m.backends, parameter_size: '', quantization_level: '' }
    }))
  }
}

function sampling (o: z.output<typeof options>): Partial<GenerationInput> {
  if (!o) return {}
  return { maxTokens: o.num_predict !== undefined && o.num_predict > 0 ? o.num_predict : undefined, temperature: o.temperature, topP: o.top_p, stop: o.stop, seed: o.seed }
}

function toResponseFormat (format: z.output<typeof common.format>): GenerationInput['responseFormat'] {
  if (format === undefined || format === '') return undefined
  if (format === 'json') return { type: 'json_object' }
  return { type: 'json_schema', jsonSchema: { name: 'response', schema: format } }
}

/** Ollama's tool calls carry no ids and answer by tool name: ids are made up and matched back by name. */
function toMessages (messages: z.output<typeof ollamaMessage>[]): ChatMessage[] {
  const pending = new Map<string, string[]>()
  let n = 0
  return messages.map(m => {
    const message: ChatMessage = { role: m.role, content: m.content }
    if (m.tool_calls?.length) {
      message.toolCalls = m.tool_calls.map(call => {
        const id = `call_${n++}`
        pending.set(call.function.name, [...pending.get(call.function.name) ?? [], id])
        return { id, type: 'function' as const, function: { name: call.function.name, arguments: JSON.stringify(call.function.arguments) } }
      })
    }
    if (m.role === 'tool' && m.tool_name !== undefined) {
      const id = pending.get(m.tool_name)?.shift()
      if (id !== undefined) message.toolCallId = id
    }
    return message
  })
}

function toOllamaToolCall (call: ToolCall): { function: { name: string, arguments: Record<string, unknown> } } {
  let args: unknown = {}
  try { args = JSON.parse(call.function.arguments) } catch { /* arguments that are not JSON become {} */ }
  return { function: { name: call.function.name, arguments: typeof args === 'object' && args !== null && !Array.isArray(args) ? args as Record<string, unknown> : {} } }
}
