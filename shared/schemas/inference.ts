import { z } from 'zod'
import { defineMethod, defineStreamMethod } from '../mesh/method.js'

export const MODEL_NAME_MAX = 256
export const PROMPT_MAX_CHARS = 512 * 1024
export const MAX_TOKENS_LIMIT = 32_768

export const modelName = z.string().min(1).max(MODEL_NAME_MAX)

export const chatMessage = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(PROMPT_MAX_CHARS)
})
export type ChatMessage = z.infer<typeof chatMessage>

/** One generation: either a plain `prompt` (completion) or chat `messages`. */
export const runRequest = z.strictObject({
  model: modelName,
  prompt: z.string().max(PROMPT_MAX_CHARS).optional(),
  messages: z.array(chatMessage).min(1).max(1000).optional(),
  maxTokens: z.number().int().min(1).max(MAX_TOKENS_LIMIT).optional(),
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().gt(0).max(1).optional(),
  stop: z.array(z.string().min(1).max(256)).max(8).optional(),
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional()
}).refine(r => (r.prompt === undefined) !== (r.messages === undefined), { message: 'give exactly one of prompt or messages' })
export type RunRequest = z.infer<typeof runRequest>

export const usage = z.object({
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  totalTokens: z.number().int().min(0)
})
export type Usage = z.infer<typeof usage>

export const finishReason = z.enum(['stop', 'length', 'cancelled'])
export type FinishReason = z.infer<typeof finishReason>

export const runResponse = z.object({
  model: z.string(),
  backend: z.string(),
  usage,
  finishReason,
  /** null when no token was produced. */
  timeToFirstTokenMs: z.number().min(0).nullable(),
  cached: z.boolean()
})
export type RunResponse = z.infer<typeof runResponse>

export const runChunk = z.object({ text: z.string() })

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
  input: z.union([z.string().max(PROMPT_MAX_CHARS), z.array(z.string().max(PROMPT_MAX_CHARS)).min(1).max(256)])
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
