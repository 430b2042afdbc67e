import { LRUCache } from 'lru-cache'
import type { NodeRegistry } from '../../shared/accounts/node-registry.js'
import type { AuthConfig } from '../../shared/config/auth.js'
import { HyperinferError } from '../../shared/errors.js'
import type { UserRecord } from '../../shared/accounts/records.js'
import { unary, type CallContext, type ServedMethod } from '../../shared/mesh/rpc-server.js'
import * as api from '../../shared/schemas/auth.js'
import { waitForReplicas } from '../../shared/store/replicas.js'
import { burnVerification, hashPassword, verifyPassword } from './passwords.js'
import type { Sessions } from './sessions.js'
import type { AccountStore } from './store.js'
import { ClientQuota, type LoginThrottle } from './throttle.js'
import { keyView, nodeView, userView } from './views.js'

export interface AuthApiDeps {
  store: AccountStore
  sessions: Sessions
  throttle: LoginThrottle
  config: AuthConfig
  /** The approved nodes (this node's own index of its accounts bee). */
  nodes: NodeRegistry
}

function callerId (ctx: CallContext): string {
  return ctx.remotePublicKey.toString('hex')
}

/** The auth node's method table. */
export function authMethods ({ store, sessions, throttle, config, nodes }: AuthApiDeps): ServedMethod[] {
  const admins = new Set(config.admins)
  const touchCalls = new LRUCache<string, { count: number }>({ max: 10_000, ttl: 60_000 })
  const registrations = new ClientQuota(config.registerPerClientPerHour, 60 * 60_000, 'registrations')

  /** The end user an approved web node names, else the calling node itself. */
  function clientOf (ctx: CallContext, onBehalfOf: string | undefined): string {
    const caller = callerId(ctx)
    if (onBehalfOf !== undefined && nodes.isApproved('web', caller)) return `ip:${onBehalfOf}`
    return `node:${caller}`
  }

  async function authenticateSession (token: string): Promise<{ user: UserRecord, sessionId: string }> {
    const claims = await sessions.verify(token)
    const user = await store.getUser(claims.userId)
    const credential = user ? await store.getCredential(user.id) : null
    if (!user || !credential || credential.changedAt !== claims.passwordVersion || !await store.hasSession(user.id, claims.sessionId)) {
      throw new HyperinferError('UNAUTHENTICATED', 'session is no longer valid: log in again')
    }
    return { user, sessionId: claims.sessionId }
  }

  async function authenticate (token: string): Promise<UserRecord> {
    return (await authenticateSession(token)).user
  }

  async function authenticateAdmin (token: string): Promise<UserRecord> {
    const user = await authenticate(token)
    if (user.role !== 'admin') throw new HyperinferError('FORBIDDEN', 'this needs the admin role')
    return user
  }

  return [
    unary(api.register, async ({ username, email, password, client }, ctx) => {
      registrations.take(clientOf(ctx, client))
      const passwordHash = await hashPassword(password, config.scrypt)
      const user = await store.createUser({ username, email, passwordHash, role: admins.has(username) ? 'admin' : 'user' })
      return userView(user)
    }),

    unary(api.login, async ({ login, password, client: onBehalfOf }, ctx) => {
      const name = login.toLowerCase()
      const client = clientOf(ctx, onBehalfOf)
      const user = await store.findUser(name)
      // By username or by email, guesses count against the same account; checked and counted in one step.
      const account = user ? `user:${user.id}` : `name:${name}`
      throttle.begin(account, client)
      const credential = user ? await store.getCredential(user.id) : null
      const valid = credential ? await verifyPassword(password, credential.hash) : (await burnVerification(password, config.scrypt), false)
      if (!user || !credential || !valid) {
        if (user) await store.recordAudit({ actor: client.slice(0, 17), action: 'login.failure', target: `user:${user.username}` })
        throw new HyperinferError('UNAUTHENTICATED', 'wrong username/email or password')
      }
      throttle.succeed(account, client)
      const { token, expiresAt, sessionId, expiresAtMs } = await sessions.issue({ userId: user.id, passwordVersion: credential.changedAt })
      await store.addSession(user.id, sessionId, expiresAtMs)
      return { token, expiresAt, user: userView(user) }
    }),

    unary(api.whoami, async ({ token }) => userView(await authenticate(token))),

    unary(api.logout, async ({ token }) => {
      const { user, sessionId } = await authenticateSession(token)
      await store.endSession(user.id, sessionId)
      return { loggedOut: true }
    }),

    unary(api.changePassword, async ({ token, currentPassword, newPassword }) => {
      const user = await authenticate(token)
      const credential = await store.getCredential(user.id)
      if (!credential || !await verifyPassword(currentPassword, credential.hash)) {
        throw new HyperinferError('UNAUTHENTICATED', 'the current password is wrong')
      }
      const updated = await store.setCredential(user.id, await hashPassword(newPassword, config.scrypt))
      await store.recordAudit({ actor: user.username, action: 'user.change-password', target: `user:${user.username}` })
      return { changedAt: new Date(updated.changedAt).toISOString() }
    }),

    unary(api.createKey, async ({ token, name }) => {
      const user = await authenticate(token)
      const { record, key } = await store.createKey(user, name)
      // Answer once the gateways' replicas hold the key, so it works on the very next request.
      await waitForReplicas(store.accounts.core, store.accounts.core.length)
      return { ...keyView(record), key }
    }),

    unary(api.listKeys, async ({ token }) => {
      const user = await authenticate(token)
      return { keys: (await store.listKeys(user.id)).map(keyView) }
    }),

    unary(api.revokeKey, async ({ token, keyId }) => keyView(await store.revokeKey(await authenticate(token), keyId))),

    unary(api.rotateKey, async ({ token, keyId }) => {
      const { revoked, created } = await store.rotateKey(await authenticate(token), keyId)
      await waitForReplicas(store.accounts.core, store.accounts.core.length)
      return { revoked: keyView(revoked), created: { ...keyView(created.record), key: created.key } }
    }),

    unary(api.accountsInfo, () => ({ key: store.accounts.key.toString('hex'), length: store.accounts.core.length })),

    // Any node of the mesh may report key use (only lastUsedAt moves, forward); rate-limited per caller.
    unary(api.touchKeys, async ({ keys }, ctx) => {
      const caller = callerId(ctx)
      const calls = touchCalls.get(caller) ?? { count: 0 }
      if (calls.count >= config.touchKeysPerMinute) {
        throw new HyperinferError('RATE_LIMITED', 'too many touchKeys calls: batch them', { retryAfterMs: touchCalls.getRemainingTTL(caller) })
      }
      calls.count++
      if (calls.count === 1) touchCalls.set(caller, calls)
      return { updated: await store.touchKeys(keys) }
    }),

    unary(api.adminListUsers, async ({ token, after, limit }) => {
      await authenticateAdmin(token)
      return { users: (await store.listUsers(after, limit ?? 100)).map(userView) }
    }),

    unary(api.adminSetPlan, async ({ token, username, plan }) => {
      const admin = await authenticateAdmin(token)
      if (!(plan in config.plans)) throw new HyperinferError('INVALID_ARGUMENT', `unknown plan "${plan}": one of ${Object.keys(config.plans).join(', ')}`)
      return userView(await store.updateUser(username, { plan }, admin.username))
    }),

    unary(api.adminSetRole, async ({ token, username, role }) => {
      const admin = await authenticateAdmin(token)
      return userView(await store.updateUser(username, { role }, admin.username))
    }),

    unary(api.adminApproveWorker, async ({ token, publicKey, note }) => {
      const admin = await authenticateAdmin(token)
      return store.setWorker(publicKey, true, admin.username, note)
    }),

    unary(api.adminRevokeWorker, async ({ token, publicKey }) => {
      const admin = await authenticateAdmin(token)
      return store.setWorker(publicKey, false, admin.username)
    }),

    unary(api.adminListWorkers, async ({ token }) => {
      await authenticateAdmin(token)
      return { workers: await store.listWorkers() }
    }),

    unary(api.adminAudit, async ({ token, before, limit }) => {
      await authenticateAdmin(token)
      return { entries: await store.readAudit(before, limit ?? 100) }
    }),

    unary(api.adminApproveNode, async ({ token, role, publicKey, note }) => {
      const admin = await authenticateAdmin(token)
      return nodeView(await store.setNode(role, publicKey, true, admin.username, note))
    }),

    unary(api.adminRevokeNode, async ({ token, role, publicKey }) => {
      const admin = await authenticateAdmin(token)
      return nodeView(await store.setNode(role, publicKey, false, admin.username))
    }),

    unary(api.adminListNodes, async ({ token, role }) => {
      await authenticateAdmin(token)
      return { nodes: (await store.listNodes(role)).map(nodeView) }
    }),

    unary(api.approvedNodes, ({ role }) => ({ role, publicKeys: nodes.approved(role) }))
  ]
}
