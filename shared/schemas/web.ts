import { z } from 'zod'
import { emailSchema, keyIdSchema, keyNameSchema, passwordSchema, planNameSchema, publicKeySchema, roleNameSchema, usernameSchema } from './auth.js'
import { generationFields, oneInput } from './generation.js'

/** Bodies and queries of the web node's REST API (/api/...). */

export const registerBody = z.strictObject({ username: usernameSchema, email: emailSchema, password: passwordSchema })

export const loginBody = z.strictObject({ login: z.string().min(1).max(254), password: z.string().min(1).max(256) })

export const changePasswordBody = z.strictObject({ currentPassword: z.string().min(1).max(256), newPassword: passwordSchema })

export const createKeyBody = z.strictObject({ name: keyNameSchema })

export const keyIdParams = z.strictObject({ id: keyIdSchema })

/** POST /api/inference: the generation contract's fields and limits (shared/schemas/generation.ts), plus `stream`. */
export const inferenceBody = generationFields.pick({
  model: true, prompt: true, messages: true, maxTokens: true, temperature: true, topP: true, stop: true, seed: true
}).extend({ stream: z.boolean().default(false) }).superRefine(oneInput)

/** Query strings arrive as text: coerce the numbers. */
export const usageQuery = z.strictObject({
  days: z.coerce.number().int().min(1).max(366).default(14),
  recent: z.coerce.number().int().min(0).max(200).default(20)
})

export const emptyQuery = z.strictObject({})

export const setPlanBody = z.strictObject({ plan: planNameSchema })
export const setRoleBody = z.strictObject({ role: roleNameSchema })
export const usernameParams = z.strictObject({ username: usernameSchema })
export const approveWorkerBody = z.strictObject({ publicKey: publicKeySchema, note: z.string().max(200).optional() })
export const workerParams = z.strictObject({ publicKey: publicKeySchema })

export const apiKeyHeader = z.string().min(8, 'X-API-Key is not an API key').max(256, 'X-API-Key is not an API key')
