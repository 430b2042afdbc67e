import { LRUCache } from 'lru-cache'
import { HyperinferError } from '../../shared/errors.js'
import { unary, type ServedMethod } from '../../shared/mesh/rpc-server.js'
import * as api from '../../shared/schemas/auth.js'
import { waitForReplicas } from '../../shared/store/replicas.js'
import { callerId, type AuthApiDeps, type CallerCheck } from './caller-check.js'
import { keyView } from './views.js'

/** API keys: create, list, revoke, rotate; where the accounts bee is; key use reported by gateways. */
export function keyMethods ({ store, config }: AuthApiDeps, callers: CallerCheck): ServedMethod[] {
  const touchCalls = new LRUCache<string, { count: number }>({ max: 10_000, ttl: 60_000 })
  return [
    unary(api.createKey, async ({ token, name }) => {
      const user = await callers.user(token)
      const { record, key } = await store.createKey(user, name)
      // Answer once the gateways' replicas hold the key, so it works on the very next request.
      await waitForReplicas(store.accounts.core, store.accounts.core.length)
      return { ...keyView(record), key }
    }),

    unary(api.listKeys, async ({ token }) => {
      const user = await callers.user(token)
      return { keys: (await store.listKeys(user.id)).map(keyView) }
    }),

    unary(api.revokeKey, async ({ token, keyId }) => keyView(await store.revokeKey(await callers.user(token), keyId))),

    unary(api.rotateKey, async ({ token, keyId }) => {
      const { revoked, created } = await store.rotateKey(await callers.user(token), keyId)
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
  ]
}
