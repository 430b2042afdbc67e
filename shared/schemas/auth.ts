import { z } from 'zod'
import { defineMethod, type Callers } from '../mesh/method.js'
import { ROLES } from '../mesh/topic.js'

/** Auth requests are small: refuse anything bigger before parsing. */
const MAX_AUTH_REQUEST_BYTES = 16 * 1024

export const usernameSchema = z.string()
  .min(3, 'username must be 3-32 characters')
  .max(32, 'username must be 3-32 characters')
  .regex(/^[a-z0-9_.-]+$/, 'username may contain only a-z, 0-9, "_", "." and "-"')
export const emailSchema = z.string().max(254, 'email is too long').regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'email must look like name@example.com')
export const passwordSchema = z.string().min(8, 'password must be at least 8 characters').max(256, 'password must be at most 256 characters')
export const tokenSchema = z.string().min(1).max(4096)
export const planNameSchema = z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'plan names are a-z, 0-9, "_" and "-"')
export const roleNameSchema = z.enum(['user', 'admin'])
export const keyIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'not a key id')
export const keyNameSchema = z.string().min(1, 'key name must not be empty').max(64, 'key name must be at most 64 characters')
export const publicKeySchema = z.string().regex(/^[0-9a-f]{64}$/, 'public key must be 64 hex characters')

export const userView = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string(),
  role: roleNameSchema,
  plan: z.string(),
  createdAt: z.string()
})
export type UserView = z.infer<typeof userView>

export const keyView = z.object({
  id: z.string(),
  name: z.string(),
  prefix: z.string(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
  revokedAt: z.string().nullable()
})
export type KeyView = z.infer<typeof keyView>

/** A new key: the only time the key itself is ever shown. */
export const createdKey = keyView.extend({ key: z.string() })

const define = <Req extends z.ZodType, Res extends z.ZodType>(name: string, request: Req, response: Res, callers: Callers = 'anyone') =>
  defineMethod(name, { request, response, maxRequestBytes: MAX_AUTH_REQUEST_BYTES, timeoutMs: 10_000, callers })

/**
 * The end user a web node acts for (its IP address), so per-client limits are per person and not
 * per web node. Honoured only from an approved web node; anyone else is its own client.
 */
const onBehalfOf = z.string().min(1).max(64).regex(/^[0-9A-Za-z.:_%-]+$/, 'not a client address').optional()

const authed = <S extends z.ZodRawShape>(shape: S) => z.strictObject({ token: tokenSchema, ...shape })

export const register = define('auth.register',
  z.strictObject({ username: usernameSchema, email: emailSchema, password: passwordSchema, client: onBehalfOf }),
  userView)

export const login = define('auth.login',
  z.strictObject({ login: z.string().min(1).max(254), password: z.string().min(1).max(256), client: onBehalfOf }),
  z.object({ token: z.string(), expiresAt: z.string(), user: userView }))

export const whoami = define('auth.whoami', authed({}), userView)

/** Ends this session on the auth node: the token is refused from then on, everywhere. */
export const logout = define('auth.logout', authed({}), z.object({ loggedOut: z.boolean() }))

export const changePassword = define('auth.changePassword',
  authed({ currentPassword: z.string().min(1).max(256), newPassword: passwordSchema }),
  z.object({ changedAt: z.string() }))

export const createKey = define('auth.createKey', authed({ name: keyNameSchema }), createdKey)

export const listKeys = define('auth.listKeys', authed({}), z.object({ keys: z.array(keyView) }))

export const revokeKey = define('auth.revokeKey', authed({ keyId: keyIdSchema }), keyView)

export const rotateKey = define('auth.rotateKey', authed({ keyId: keyIdSchema }),
  z.object({ revoked: keyView, created: createdKey }))

export const accountsInfo = define('auth.accounts', z.strictObject({}),
  z.object({ key: z.string(), length: z.number() }))

export const touchKeys = define('auth.touchKeys',
  z.strictObject({
    keys: z.array(z.strictObject({ keyId: keyIdSchema, userId: keyIdSchema, lastUsedAt: z.iso.datetime() })).min(1).max(500)
  }),
  z.object({ updated: z.number() }),
  ['gateway'])

export const adminListUsers = define('auth.admin.listUsers',
  authed({ after: z.string().max(64).optional(), limit: z.number().int().min(1).max(1000).optional() }),
  z.object({ users: z.array(userView) }))

export const adminSetPlan = define('auth.admin.setPlan', authed({ username: usernameSchema, plan: planNameSchema }), userView)

export const adminSetRole = define('auth.admin.setRole', authed({ username: usernameSchema, role: roleNameSchema }), userView)

export const workerView = z.object({
  publicKey: z.string(),
  approvedAt: z.string(),
  approvedBy: z.string(),
  revokedAt: z.string().nullable(),
  note: z.string().optional()
})

export const adminApproveWorker = define('auth.admin.approveWorker',
  authed({ publicKey: publicKeySchema, note: z.string().max(200).optional() }), workerView)

export const adminRevokeWorker = define('auth.admin.revokeWorker', authed({ publicKey: publicKeySchema }), workerView)

export const adminListWorkers = define('auth.admin.listWorkers', authed({}), z.object({ workers: z.array(workerView) }))

export const nodeRoleSchema = z.enum(ROLES)

export const nodeView = z.object({
  role: nodeRoleSchema,
  publicKey: z.string(),
  approvedAt: z.string(),
  approvedBy: z.string(),
  revokedAt: z.string().nullable(),
  note: z.string().optional()
})
export type NodeView = z.infer<typeof nodeView>

export const adminApproveNode = define('auth.admin.approveNode',
  authed({ role: nodeRoleSchema, publicKey: publicKeySchema, note: z.string().max(200).optional() }), nodeView)

export const adminRevokeNode = define('auth.admin.revokeNode', authed({ role: nodeRoleSchema, publicKey: publicKeySchema }), nodeView)

export const adminListNodes = define('auth.admin.listNodes', authed({ role: nodeRoleSchema.optional() }), z.object({ nodes: z.array(nodeView) }))

/**
 * The approved public keys of a role, for callers without a replica (the CLI, the client library):
 * they send keys, prompts and passwords only to these. Public keys are no secret.
 */
export const approvedNodes = define('auth.nodes', z.strictObject({ role: nodeRoleSchema }),
  z.object({ role: nodeRoleSchema, publicKeys: z.array(publicKeySchema) }))

export const auditEntry = z.object({
  id: z.string(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  target: z.string(),
  details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional()
})

export const adminAudit = define('auth.admin.audit',
  authed({ before: z.string().max(64).optional(), limit: z.number().int().min(1).max(1000).optional() }),
  z.object({ entries: z.array(auditEntry) }))

/** Every method the auth node serves (besides health and metrics). */
export const AUTH_METHODS = [
  register, login, whoami, logout, changePassword, createKey, listKeys, revokeKey, rotateKey, accountsInfo, touchKeys,
  adminListUsers, adminSetPlan, adminSetRole, adminApproveWorker, adminRevokeWorker, adminListWorkers, adminAudit,
  adminApproveNode, adminRevokeNode, adminListNodes, approvedNodes
] as const
