import { z } from 'zod'
import { defineMethod } from '../mesh/method.js'
import { ROLES } from '../mesh/topic.js'

export const roleSchema = z.enum(ROLES)

export const healthResponse = z.object({
  role: roleSchema,
  version: z.string(),
  publicKey: z.string(),
  status: z.enum(['up', 'degraded']),
  uptimeSeconds: z.number(),
  startedAt: z.string(),
  details: z.record(z.string(), z.unknown()).optional()
})
export type HealthResponse = z.infer<typeof healthResponse>

/** Every node answers these two. */
export const health = defineMethod('health', {
  request: z.strictObject({}),
  response: healthResponse,
  timeoutMs: 3_000
})

export const metrics = defineMethod('metrics', {
  request: z.strictObject({}),
  response: z.object({ contentType: z.string(), text: z.string() }),
  timeoutMs: 5_000,
  callers: ['metrics']
})
