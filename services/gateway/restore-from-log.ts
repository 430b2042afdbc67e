import type { RequestRateLimiter } from './request-rate-limiter.js'
import { type TokenQuota, utcDay } from './token-quota.js'
import type { UsageLog } from './usage-log.js'

/** The rate limits' window: requests per key and per user per hour. */
export const HOUR_MS = 60 * 60 * 1000

/** After a restart, limits and quotas continue from the request log instead of starting over. */
export async function restoreFromLog (usage: UsageLog, limiter: RequestRateLimiter, quota: TokenQuota): Promise<void> {
  const now = Date.now()
  const today = utcDay(now)
  const windowStart = new Date(Math.min(now - HOUR_MS, Date.parse(today))).toISOString()
  await usage.settleLegacyIntents()
  const byKey = new Map<string, number[]>()
  for await (const record of usage.requestsSince(windowStart)) {
    // Refunded requests (no worker served them) count against nothing.
    if (record.billed === false) continue
    const at = Date.parse(record.at)
    if (at > now - HOUR_MS) {
      for (const id of [`key:${record.keyId}`, `user:${record.userId}`]) {
        const times = byKey.get(id) ?? []
        times.push(at)
        byKey.set(id, times)
      }
    }
    if (record.at.startsWith(today)) quota.add(record.userId, today, record.promptTokens + record.completionTokens)
  }
  for (const [id, times] of byKey) limiter.restore(id, times)
}
