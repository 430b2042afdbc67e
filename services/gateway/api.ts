import { LRUCache } from 'lru-cache'
import type { z } from 'zod'
import type { AccountReplica } from '../../shared/accounts/replica.js'
import { HyperinferError } from '../../shared/errors.js'
import type { MeshNode } from '../../shared/mesh/mesh-node.js'
import { streaming, unary, type ServedMethod } from '../../shared/mesh/rpc-server.js'
import { whoami } from '../../shared/schemas/auth.js'
import { embed, infer, models, quota, usage } from '../../shared/schemas/gateway.js'
import { inferenceModels, type ModelInfo } from '../../shared/schemas/inference.js'
import { runEmbed } from './embed.js'
import { authenticate, runInference, type InferDeps } from './infer.js'
import { nextUtcMidnight, utcDay } from './token-quota.js'

const DAY_MS = 24 * 60 * 60 * 1000

export function gatewayMethods (deps: InferDeps): ServedMethod[] {
  const { pool } = deps
  // Per worker; workers come and go for months, so the cache is bounded.
  const modelCache = new LRUCache<string, { at: number, models: ModelInfo[] }>({ max: 10_000 })

  async function workerModels (state: { peer: { id: string, publicKey: Buffer } }): Promise<ModelInfo[]> {
    const cached = modelCache.get(state.peer.id)
    if (cached && Date.now() - cached.at < 5_000) return cached.models
    const answer = await deps.node.client(state.peer.publicKey).call(inferenceModels, {}, { timeoutMs: 3_000 })
    modelCache.set(state.peer.id, { at: Date.now(), models: answer.models })
    return answer.models
  }

  return [
    streaming(infer, (req, ctx) => runInference(deps, req, ctx)),
    unary(embed, (req, ctx) => runEmbed(deps, req, ctx)),

    unary(models, async () => {
      const byModel = pool.models()
      const details = new Map<string, ModelInfo>()
      const workers = new Map([...byModel.values()].flat().map(state => [state.peer.id, state]))
      await Promise.all([...workers.values()].map(async state => {
        for (const info of await workerModels(state).catch(() => [])) if (!details.has(info.name)) details.set(info.name, info)
      }))
      return {
        models: [...byModel].map(([name, states]) => ({
          name,
          workers: states.length,
          backends: details.has(name) ? [details.get(name)!.backendType] : [],
          contextLength: details.get(name)?.contextLength ?? null
        })).sort((a, b) => a.name.localeCompare(b.name))
      }
    }),

    unary(quota, ({ apiKey }) => quotaOf(deps, apiKey)),

    unary(usage, req => usageOf(deps, req))
  ]
}

/** A key's plan, what it has used of it and when that frees up. */
function quotaOf (deps: InferDeps, apiKey: string): z.output<typeof quota.response> {
  const { accounts, limiter } = deps
  const account = authenticate(accounts, apiKey)
  const now = Date.now()
  const key = limiter.usage(`key:${account.keyId}`, now)
  const user = limiter.usage(`user:${account.userId}`, now)
  const binding = user.used >= key.used ? user : key
  const tokens = deps.quota.status(account.userId, now)
  const { requestsPerHour, tokensPerDay } = account.limits
  return {
    plan: account.plan,
    requests: {
      limit: requestsPerHour,
      used: binding.used,
      remaining: Math.max(0, requestsPerHour - binding.used),
      windowSeconds: 3600,
      resetAt: binding.resetAt === null ? null : new Date(binding.resetAt).toISOString()
    },
    tokens: {
      limit: tokensPerDay,
      used: tokens.used,
      reserved: tokens.reserved,
      remaining: Math.max(0, tokensPerDay - tokens.used - tokens.reserved),
      resetAt: new Date(nextUtcMidnight(now)).toISOString()
    }
  }
}

/** A user's usage by day and model and recent requests (another user's for admins). */
async function usageOf (deps: InferDeps, req: z.output<typeof usage.request>): Promise<z.output<typeof usage.response>> {
  const { accounts, usage: usageLog } = deps
  const caller = await identify(deps.node, accounts, req)
  const userId = req.userId ?? caller.userId
  if (userId !== caller.userId && caller.role !== 'admin') {
    throw new HyperinferError('FORBIDDEN', 'only admins can read another user\'s usage')
  }
  // Read your writes: the caller's answered requests reach the log a group commit after their answer.
  await usageLog.written()
  const days = []
  const from = utcDay(Date.now() - (req.days - 1) * DAY_MS)
  for await (const day of usageLog.dailyCounters(userId, from)) days.push(day)
  const recent = []
  if (req.recent > 0) {
    for await (const record of usageLog.recentRequests(userId, req.recent)) {
      const { userId: _owner, promptSha256: _hash, reservedTokens: _reserved, ...rest } = record
      recent.push(rest)
    }
  }
  return { userId, days, recent }
}

/** The caller of a usage query: by API key locally, or by session token with the auth node. */
async function identify (node: MeshNode, accounts: AccountReplica, req: { apiKey?: string, sessionToken?: string }): Promise<{ userId: string, role: string }> {
  if (req.apiKey) {
    const account = authenticate(accounts, req.apiKey)
    return { userId: account.userId, role: account.role }
  }
  if (req.sessionToken) {
    // The session token goes to the pinned auth node only.
    const auth = await node.trust.auth(5_000)
    const user = await node.client(auth).call(whoami, { token: req.sessionToken })
    return { userId: user.id, role: user.role }
  }
  throw new HyperinferError('UNAUTHENTICATED', 'give an apiKey or a sessionToken')
}
