import type { FastifyInstance, FastifyReply } from 'fastify'
import { HyperinferError, toHyperinferError } from '../errors.js'
import type { InferResult } from '../schemas/gateway.js'
import type { ToolCallDelta } from '../schemas/generation.js'
import { fromFastifyError, openAIErrorBody, sendOpenAIError, unknownModel } from './errors.js'
import { chatCompletionBody, completionBody, embeddingBody } from './openai-schemas.js'
import { chatCompletion, chatToGeneration, completionToGeneration, encodeEmbedding, openAIFinish, openAIUsage, textCompletion } from './openai-translate.js'
import { checkGeneration, embedFor, keyOfRequest, newRequestId, parseBody, remaining, requestKey, startGeneration, unixNow, type CompatOptions, type StartedGeneration } from './request.js'
import { openStream } from './stream-writer.js'
import type { GenerationInput } from './gateway-upstream.js'

interface Shape { kind: 'chat' | 'text', id: string, created: number, model: string, includeUsage: boolean }

/**
 * The OpenAI API over the mesh, as a fastify plugin: /v1/chat/completions and /v1/completions
 * (JSON or SSE ending with `data: [DONE]`), /v1/models, /v1/models/{id}, /v1/embeddings.
 * Errors in OpenAI's shape with the statuses the SDKs map to their error classes.
 */
export async function openAICompat (app: FastifyInstance, opts: CompatOptions): Promise<void> {
  const { upstream } = opts
  app.addHook('onRequest', async (_req, reply) => { reply.header('x-request-id', newRequestId()) })
  app.setErrorHandler(async (err: unknown, req, reply) => {
    const coded = err instanceof HyperinferError ? err : fromFastifyError(err as { statusCode?: number, message: string })
    if (coded.code === 'INTERNAL') req.log.error({ err }, 'openai-compatible request failed')
    const key = keyOfRequest(req)
    const quota = coded.code === 'RATE_LIMITED' || coded.code === 'QUOTA_EXCEEDED'
      ? await (key ? upstream.quota(key).catch(() => null) : null)
      : null
    return sendOpenAIError(reply, coded, quota)
  })
  app.setNotFoundHandler((req, reply) => sendOpenAIError(reply, new HyperinferError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`)))

  app.post('/chat/completions', async (req, reply) => {
    const apiKey = requestKey(req, opts.keyPolicy)
    const body = parseBody(chatCompletionBody, req.body)
    const generation = checkGeneration(chatToGeneration(body))
    const shape: Shape = { kind: 'chat', id: `chatcmpl-${newRequestId().slice(4)}`, created: unixNow(), model: body.model, includeUsage: body.stream_options?.include_usage === true }
    return await generate(upstream, reply, apiKey, generation, body.stream === true, shape)
  })

  app.post('/completions', async (req, reply) => {
    const apiKey = requestKey(req, opts.keyPolicy)
    const body = parseBody(completionBody, req.body)
    const generation = checkGeneration(completionToGeneration(body))
    const shape: Shape = { kind: 'text', id: `cmpl-${newRequestId().slice(4)}`, created: unixNow(), model: body.model, includeUsage: body.stream_options?.include_usage === true }
    return await generate(upstream, reply, apiKey, generation, body.stream === true, shape)
  })

  app.get('/models', async () => {
    const list = await upstream.models()
    return { object: 'list', data: list.models.map(m => modelObject(m.name)) }
  })

  // model names may hold slashes (org/model) and colons (llama3.2:latest)
  app.get('/models/*', async req => {
    const id = (req.params as { '*': string })['*']
    const list = await upstream.models()
    if (!list.models.some(m => m.name === id)) throw unknownModel(id)
    return modelObject(id)
  })

  app.post('/embeddings', async req => {
    const apiKey = requestKey(req, opts.keyPolicy)
    const body = parseBody(embeddingBody, req.body)
    const answer = await embedFor(upstream, req, apiKey, body.model, body.input)
    return {
      object: 'list',
      model: answer.model,
      data: answer.embeddings.map((vector, index) => ({ object: 'embedding', index, embedding: encodeEmbedding(vector, body.encoding_format) })),
      usage: { prompt_tokens: answer.usage.promptTokens, total_tokens: answer.usage.totalTokens }
    }
  })
}

/** One completion: the whole answer as JSON, or SSE as tokens arrive. */
async function generate (upstream: CompatOptions['upstream'], reply: FastifyReply, apiKey: string, generation: GenerationInput, stream: boolean, shape: Shape): Promise<unknown> {
  const started = await startGeneration(upstream, apiKey, generation, reply)
  if (!stream) {
    for await (const _chunk of remaining(started)) { /* the result carries the whole text */ }
    const result = await started.stream.result
    return shape.kind === 'chat' ? chatCompletion(shape.id, shape.created, result) : textCompletion(shape.id, shape.created, result)
  }
  await relaySse(reply, started, shape)
  return reply
}

function modelObject (id: string): Record<string, unknown> {
  return { id, object: 'model', created: 0, owned_by: 'hyperinfer' }
}

/** Streams chunks in OpenAI's shape as they arrive; a failure after the first chunk is sent as an error event. */
async function relaySse (reply: FastifyReply, started: StartedGeneration, shape: Shape): Promise<void> {
  const sse = openStream(reply, 'text/event-stream; charset=utf-8')
  const send = (data: unknown): Promise<void> => sse.write(`data: ${JSON.stringify(data)}\n\n`)
  const frame = (choice: Record<string, unknown>, finish: string | null): Record<string, unknown> => ({
    id: shape.id,
    object: shape.kind === 'chat' ? 'chat.completion.chunk' : 'text_completion',
    created: shape.created,
    model: shape.model,
    choices: [{ index: 0, ...choice, finish_reason: finish, logprobs: null }],
    ...(shape.includeUsage ? { usage: null } : {})
  })
  const piece = (text: string, toolCalls?: ToolCallDelta[]): Record<string, unknown> => shape.kind === 'text'
    ? { text }
    : { delta: toolCalls ? { content: text === '' ? null : text, tool_calls: toolCalls } : { content: text } }
  try {
    if (shape.kind === 'chat') await send(frame({ delta: { role: 'assistant', content: '' } }, null))
    for await (const chunk of remaining(started)) {
      if (sse.gone()) break
      await send(frame(piece(chunk.text, chunk.toolCalls), null))
    }
    const result: InferResult = await started.stream.result
    await send(frame(shape.kind === 'text' ? { text: '' } : { delta: {} }, openAIFinish(result.finishReason)))
    if (shape.includeUsage) await send({ id: shape.id, object: frame({}, null).object, created: shape.created, model: shape.model, choices: [], usage: openAIUsage(result.usage) })
    sse.end('data: [DONE]\n\n')
  } catch (err) {
    // the SDKs raise an APIError for a data line that carries `error`
    await send(openAIErrorBody(toHyperinferError(err)))
    sse.end()
  }
}
