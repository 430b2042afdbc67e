import { z } from 'zod'
import { emailSchema, keyIdSchema, keyNameSchema, passwordSchema, planNameSchema, publicKeySchema, roleNameSchema, usernameSchema } from './auth.js'
import { chatMessage, generationParams, modelNameSchema } from './gateway.js'

/** Bodies and queries of the web node's REST API (/api/...). */

export const registerBody = z.strictObject({ username: usernameSchema, email: emailSchema, password: passwordSchema })

export const loginBody = z.strictObject({ login: z.string().min(1).max(254), password: z.string().min(1).max(256) })

export const changePasswordBody = z.strictObject({ currentPassword: z.string().min(1).max(256), newPassword: passwordSchema })

export const createKeyBody = z.strictObject({ name: keyNameSchema })

export const keyIdParams = z.strictObject({ id: keyIdSchema })

export const inferenceBody = z.strictObject({
  model: modelNameSchema,
  prompt: z.string().max(256 * 1024).optional(),
  messages: z.array(chatMessage).min(1).max(256).optional(),
  stream: z.boolean().default(false),
  ...generationParams
}).refine(r => (r.prompt === undefined) !== (r.messages === undefined), { message: 'give exactly one of prompt or messages', path: ['prompt'] })

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
