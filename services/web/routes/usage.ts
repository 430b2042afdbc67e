import type { FastifyInstance, FastifyRequest } from 'fastify'
import { HyperinferError } from '../../../shared/errors.js'
import { models, quota, usage } from '../../../shared/schemas/gateway.js'
import { apiKeyHeader, emptyQuery, usageQuery } from '../../../shared/schemas/web.js'
import { currentUser, type WebContext } from '../web-context.js'
import { validate } from '../errors.js'

const HOUR_MS = 3_600_000

/** The X-API-Key header when there is one (validated), else null. */
export function apiKeyOf (req: FastifyRequest): string | null {
  const raw = req.headers['x-api-key']
  if (raw === undefined) return null
  if (typeof raw !== 'string') throw new HyperinferError('UNAUTHENTICATED', 'send one X-API-Key header')
  try {
    return validate(apiKeyHeader, raw, 'X-API-Key header')
  } catch {
    throw new HyperinferError('UNAUTHENTICATED', 'X-API-Key is not an API key')
  }
}

export function usageRoutes (app: FastifyInstance, ctx: WebContext): void {
  app.get('/api/usage', async (req, reply) => {
    const query = validate(usageQuery, req.query, 'query')
    const apiKey = apiKeyOf(req)
    const caller = apiKey ? { apiKey } : { sessionToken: (await currentUser(ctx, req, reply)).token }
    return ctx.upstream.call('gateway', usage, { ...caller, days: query.days, recent: query.recent })
  })

  app.get('/api/models', async req => {
    validate(emptyQuery, req.query, 'query')
    return ctx.upstream.call('gateway', models, {})
  })

  /**
   * With X-API-Key: the gateway's live counters for that key. With a session: the user's
   * own numbers from the usage log against the plan's limits (as replicated from the auth node).
   */
  app.get('/api/quota', async (req, reply) => {
    validate(emptyQuery, req.query, 'query')
    const apiKey = apiKeyOf(req)
    if (apiKey) return { source: 'gateway', ...await ctx.upstream.call('gateway', quota, { apiKey }) }
    const { token, user } = await currentUser(ctx, req, reply)
    const recorded = await ctx.upstream.call('gateway', usage, { sessionToken: token, days: 1, recent: 200 })
    const limits = ctx.accounts()?.limits(user.plan) ?? null
    const today = recorded.days.at(-1)
    const tokensUsed = today ? today.promptTokens + today.completionTokens : 0
    const since = Date.now() - HOUR_MS
    const requestsUsed = recorded.recent.filter(r => r.billed !== false && Date.parse(r.at) >= since).length
    const midnight = new Date()
    midnight.setUTCHours(24, 0, 0, 0)
    return {
      source: 'usage',
      plan: user.plan,
      requests: { limit: limits?.requestsPerHour ?? null, used: requestsUsed, remaining: limits ? Math.max(0, limits.requestsPerHour - requestsUsed) : null, windowSeconds: 3600 },
      tokens: { limit: limits?.tokensPerDay ?? null, used: tokensUsed, remaining: limits ? Math.max(0, limits.tokensPerDay - tokensUsed) : null, resetAt: midnight.toISOString() }
    }
  })
}
