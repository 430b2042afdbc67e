import { z } from 'zod'
import { defineMethod, defineStreamMethod } from '../mesh/method.js'
import { queuedNotice, queueTimeoutMs } from './admission.js'

const MAX_TEXT = 256 * 1024

export const apiKeySchema = z.string().min(8).max(256)
export const modelNameSchema = z.string().min(1).max(200)

export const chatMessage = z.strictObject({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(MAX_TEXT)
})
export type ChatMessage = z.infer<typeof chatMessage>

export const generationParams = {
  maxTokens: z.number().int().min(1).max(32_768).default(256),
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().gt(0).max(1).optional(),
  stop: z.array(z.string().min(1).max(100)).max(8).optional(),
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional()
}

export const usageSchema = z.object({
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  totalTokens: z.number().int().min(0)
})
export type Usage = z.infer<typeof usageSchema>

export const finishReason = z.enum(['stop', 'length', 'cancelled', 'error'])

export const inferRequest = z.strictObject({
  apiKey: apiKeySchema,
  model: modelNameSchema,
  prompt: z.string().max(MAX_TEXT).optional(),
  messages: z.array(chatMessage).min(1).max(256).optional(),
  ...generationParams,
  queueTimeoutMs: queueTimeoutMs.optional()
}).refine(r => (r.prompt === undefined) !== (r.messages === undefined), { message: 'give exactly one of prompt or messages', path: ['prompt'] })

export const inferResult = z.object({
  requestId: z.string(),
  model: z.string(),
  worker: z.string().nullable(),
  text: z.string(),
  usage: usageSchema,
  finishReason,
  timeToFirstTokenMs: z.number().nullable(),
  latencyMs: z.number(),
  cached: z.boolean(),
  /** The request is in the usage log (written to disk) when this is true. */
  recorded: z.boolean()
})
export type InferResult = z.infer<typeof inferResult>
export type { QueuedNotice } from './admission.js'

export const infer = defineStreamMethod('gateway.infer', {
  request: inferRequest,
  response: inferResult,
  chunk: z.object({ text: z.string(), queued: queuedNotice.optional() }),
  maxRequestBytes: 2 * 1024 * 1024,
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
  status: z.string()
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
