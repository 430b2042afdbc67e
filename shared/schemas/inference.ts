import { z } from 'zod'
import { defineMethod, defineStreamMethod } from '../mesh/method.js'
import { embedInput, generation, generationChunk, modelName, PROMPT_MAX_CHARS, toolCall, usage, finishReason } from './generation.js'

export { MAX_TOKENS_LIMIT, MODEL_NAME_MAX, PROMPT_MAX_CHARS, chatMessage, finishReason, modelName, usage } from './generation.js'
export type { ChatMessage, FinishReason, Usage } from './generation.js'

/** One generation: either a plain `prompt` (completion) or chat `messages`; the gateway's request without the key. */
export const runRequest = generation
/** As callers write it: maxTokens may be left out (the schema's default applies when parsed). */
export type RunRequest = z.input<typeof runRequest>

export const runResponse = z.object({
  model: z.string(),
  backend: z.string(),
  usage,
  finishReason,
  /** The calls the model made (finishReason 'tool_calls'), assembled from the streamed pieces. */
  toolCalls: z.array(toolCall).optional(),
  /** null when no token was produced. */
  timeToFirstTokenMs: z.number().min(0).nullable(),
  cached: z.boolean()
})
export type RunResponse = z.infer<typeof runResponse>

export const runChunk = generationChunk

/**
 * Streams `{ text }` chunks token by token; the final response carries usage, also after an abort
 * (then finishReason is 'cancelled'). The timeout is the longest wait between two messages.
 */
export const inferenceRun = defineStreamMethod('inference.run', {
  request: runRequest,
  response: runResponse,
  chunk: runChunk,
  maxRequestBytes: 2 * PROMPT_MAX_CHARS + 64 * 1024,
  timeoutMs: 120_000,
  callers: ['gateway']
})

export const modelStatus = z.enum(['ready', 'loading', 'unavailable'])

export const modelInfo = z.object({
  name: z.string(),
  /** The configured backend name, e.g. `local`. */
  backend: z.string(),
  backendType: z.enum(['llama', 'ollama', 'openai']),
  contextLength: z.number().int().nullable(),
  status: modelStatus
})
export type ModelInfo = z.infer<typeof modelInfo>

export const inferenceModels = defineMethod('inference.models', {
  request: z.strictObject({}),
  response: z.object({ models: z.array(modelInfo).max(10_000) }),
  timeoutMs: 15_000,
  callers: ['gateway']
})

export const inferenceModelStatus = defineMethod('inference.modelStatus', {
  request: z.strictObject({ model: modelName }),
  response: modelInfo.extend({
    /** Requests running now and waiting in this backend's queue. */
    running: z.number().int(),
    queued: z.number().int(),
    concurrency: z.number().int(),
    queueSize: z.number().int(),
    error: z.string().optional()
  }),
  timeoutMs: 15_000,
  callers: ['gateway']
})

export const embedRequest = z.strictObject({
  model: modelName,
  input: embedInput
})

export const inferenceEmbed = defineMethod('inference.embed', {
  request: embedRequest,
  response: z.object({
    model: z.string(),
    backend: z.string(),
    embeddings: z.array(z.array(z.number())),
    usage: z.object({ promptTokens: z.number().int().min(0), totalTokens: z.number().int().min(0) })
  }),
  maxRequestBytes: 2 * PROMPT_MAX_CHARS + 64 * 1024,
  timeoutMs: 60_000,
  callers: ['gateway']
})
