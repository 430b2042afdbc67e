import { HyperinferError } from '../../shared/errors.js'

const HOUR_MS = 60 * 60 * 1000

/**
 * Sliding-window request limits (exact: a log of admission times per subject). A request is
 * admitted only if every subject it counts against (its key and its user) has room, and it is
 * recorded against all of them in the same synchronous step, so parallel requests can never
 * slip past the limit.
 */
export class RequestRateLimiter {
  private readonly windows = new Map<string, number[]>()
  private readonly windowMs: number

  constructor (windowMs = HOUR_MS) {
    this.windowMs = windowMs
  }

  /** Admit one request for all subjects or throw RATE_LIMITED with when to retry; returns the admission time (for a refund). */
  take (subjects: readonly { id: string, limit: number }[], now = Date.now()): number {
    let retryAfterMs = 0
    let blocked: string | null = null
    for (const { id, limit } of subjects) {
      const log = this.prune(id, now)
      if (log.length >= limit) {
        // A limit of 0 (a plan that allows no requests) has no oldest request to wait out.
        const wait = limit <= 0 ? this.windowMs : log[log.length - limit] + this.windowMs - now
        if (wait > retryAfterMs) {
          retryAfterMs = wait
          blocked = id
        }
      }
    }
    if (blocked !== null) {
      throw new HyperinferError('RATE_LIMITED', `rate limit reached: retry in ${Math.ceil(retryAfterMs / 1000)} s`, {
        retryAfterMs,
        details: { scope: blocked.split(':')[0] }
      })
    }
    for (const { id } of subjects) this.log(id).push(now)
    return now
  }

  /** Gives back the slot of a request admitted at `at` that no worker served. */
  refund (ids: readonly string[], at: number): void {
    for (const id of ids) {
      const log = this.windows.get(id)
      if (!log) continue
      const i = log.lastIndexOf(at)
      if (i >= 0) log.splice(i, 1)
      if (log.length === 0) this.windows.delete(id)
    }
  }

  /** Requests used in the current window and when the oldest of them leaves it. */
  usage (id: string, now = Date.now()): { used: number, resetAt: number | null } {
    const log = this.prune(id, now)
    return { used: log.length, resetAt: log.length > 0 ? log[0] + this.windowMs : null }
  }

  /** Replays admissions from the usage log after a restart. */
  restore (id: string, times: number[]): void {
    this.log(id).push(...times)
    this.log(id).sort((a, b) => a - b)
  }

  private log (id: string): number[] {
    let log = this.windows.get(id)
    if (!log) this.windows.set(id, log = [])
    return log
  }

  private prune (id: string, now: number): number[] {
    const log = this.log(id)
    let drop = 0
    while (drop < log.length && log[drop] <= now - this.windowMs) drop++
    if (drop > 0) log.splice(0, drop)
    if (log.length === 0) this.windows.delete(id)
    return log
  }
}
