import { z } from 'zod'
import { defineMethod, defineStreamMethod } from '../mesh/method.js'
import { queuedNotice, queueTimeoutMs } from './admission.js'
import { embedInput, finishReason, generationChunk, generationFields, modelName, oneInput, PROMPT_MAX_CHARS, toolCall, usage as tokenUsage } from './generation.js'

export const apiKeySchema = z.string().min(8).max(256)
export { chatMessage, finishReason } from './generation.js'
export type { ChatMessage, Usage } from './generation.js'

/** A generation plus the caller's key; the gateway forwards the rest to a worker as it is. */
export const inferRequest = generationFields.extend({ apiKey: apiKeySchema, queueTimeoutMs: queueTimeoutMs.optional() }).superRefine(oneInput)

export const inferResult = z.object({
  requestId: z.string(),
  model: z.string(),
  worker: z.string().nullable(),
  text: z.string(),
  usage: tokenUsage,
  finishReason,
  /** The calls the model made (finishReason 'tool_calls'). */
  toolCalls: z.array(toolCall).optional(),
  timeToFirstTokenMs: z.number().nullable(),
  latencyMs: z.number(),
  cached: z.boolean(),
  /** The request is in the usage log (written to disk) when this is true. */
  recorded: z.boolean()
})
export type InferResult = z.infer<typeof inferResult>
export { queuedNotice }
export type { QueuedNotice } from './admission.js'

export const infer = defineStreamMethod('gateway.infer', {
  request: inferRequest,
  response: inferResult,
  /** Text and tool-call pieces; while the request waits for a worker, `queued` notices with empty text. */
  chunk: generationChunk.extend({ queued: queuedNotice.optional() }),
  maxRequestBytes: 2 * PROMPT_MAX_CHARS + 64 * 1024,
  timeoutMs: 120_000
})

export const modelInfo = z.object({
  name: z.string(),
  workers: z.number().int(),
  backends: z.array(z.string()),
  contextLength: z.number().int().nullable()
})

export const models = defineMethod('gateway.models', {
  request: z.strictObject({}),
  response: z.object({ models: z.array(modelInfo) })
})

/** Callers identify with an API key, or with a session token (checked with the auth node). */
export const callerSchema = {
  apiKey: apiKeySchema.optional(),
  sessionToken: z.string().min(1).max(4096).optional()
}

export const quotaResponse = z.object({
  plan: z.string(),
  requests: z.object({ limit: z.number(), used: z.number(), remaining: z.number(), windowSeconds: z.number(), resetAt: z.string().nullable() }),
  tokens: z.object({ limit: z.number(), used: z.number(), reserved: z.number(), remaining: z.number(), resetAt: z.string() })
})

export const quota = defineMethod('gateway.quota', {
  request: z.strictObject({ apiKey: apiKeySchema }),
  response: quotaResponse
})

export const usageRecord = z.object({
  id: z.string(),
  at: z.string(),
  keyId: z.string(),
  model: z.string(),
  worker: z.string().nullable(),
  promptTokens: z.number(),
  completionTokens: z.number(),
  latencyMs: z.number(),
  ttftMs: z.number().nullable(),
  status: z.string(),
  /** false: no worker served it, its slot and reservation were refunded (absent on records older than refunds). */
  billed: z.boolean().optional()
})

export const dayUsage = z.object({
  day: z.string(),
  requests: z.number(),
  promptTokens: z.number(),
  completionTokens: z.number(),
  models: z.record(z.string(), z.object({ requests: z.number(), promptTokens: z.number(), completionTokens: z.number() }))
})

export const usage = defineMethod('gateway.usage', {
  request: z.strictObject({
    ...callerSchema,
    /** Admins may ask for another user. */
    userId: z.string().min(1).max(64).optional(),
    days: z.number().int().min(1).max(366).default(30),
    recent: z.number().int().min(0).max(200).default(20)
  }),
  response: z.object({ userId: z.string(), days: z.array(dayUsage), recent: z.array(usageRecord) }),
  timeoutMs: 15_000
})

/** Embeddings through a worker, keyed, limited and billed like inference (prompt tokens only). */
export const embed = defineMethod('gateway.embed', {
  request: z.strictObject({ apiKey: apiKeySchema, model: modelName, input: embedInput }),
  response: z.object({
    requestId: z.string(),
    model: z.string(),
    embeddings: z.array(z.array(z.number())),
    usage: z.object({ promptTokens: z.number().int().min(0), totalTokens: z.number().int().min(0) }),
    recorded: z.boolean()
  }),
  maxRequestBytes: 2 * PROMPT_MAX_CHARS + 64 * 1024,
  timeoutMs: 60_000
})
