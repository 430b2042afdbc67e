import { HyperinferError } from '../../shared/errors.js'
import { unary, type ServedMethod } from '../../shared/mesh/rpc-server.js'
import * as api from '../../shared/schemas/auth.js'
import type { AuthApiDeps, CallerCheck } from './caller-check.js'
import { burnVerification, hashPassword, verifyPassword } from './passwords.js'
import { ClientQuota } from './login-throttle.js'
import { userView } from './views.js'

/** Accounts: register, log in and out, who am I, change the password. */
export function accountMethods ({ store, sessions, throttle, config }: AuthApiDeps, callers: CallerCheck): ServedMethod[] {
  const admins = new Set(config.admins)
  const registrations = new ClientQuota(config.registerPerClientPerHour, 60 * 60_000, 'registrations')
  return [
    unary(api.register, async ({ username, email, password, client }, ctx) => {
      registrations.take(callers.clientOf(ctx, client))
      const passwordHash = await hashPassword(password, config.scrypt)
      const user = await store.createUser({ username, email, passwordHash, role: admins.has(username) ? 'admin' : 'user' })
      return userView(user)
    }),

    unary(api.login, async ({ login, password, client: onBehalfOf }, ctx) => {
      const name = login.toLowerCase()
      const client = callers.clientOf(ctx, onBehalfOf)
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

    unary(api.whoami, async ({ token }) => userView(await callers.user(token))),

    unary(api.logout, async ({ token }) => {
      const { user, sessionId } = await callers.session(token)
      await store.endSession(user.id, sessionId)
      return { loggedOut: true }
    }),

    unary(api.changePassword, async ({ token, currentPassword, newPassword }) => {
      const user = await callers.user(token)
      const credential = await store.getCredential(user.id)
      if (!credential || !await verifyPassword(currentPassword, credential.hash)) {
        throw new HyperinferError('UNAUTHENTICATED', 'the current password is wrong')
      }
      const updated = await store.setCredential(user.id, await hashPassword(newPassword, config.scrypt))
      await store.recordAudit({ actor: user.username, action: 'user.change-password', target: `user:${user.username}` })
      return { changedAt: new Date(updated.changedAt).toISOString() }
    }),
  ]
}
