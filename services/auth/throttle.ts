import { LRUCache } from 'lru-cache'
import { HyperinferError } from '../../shared/errors.js'

export interface ThrottleOptions { maxFailuresPerUser: number, maxFailuresPerCaller: number, windowMs: number }

interface Failures { count: number, since: number }

/**
 * Failed logins per username and per caller within a window; once over the limit, logins for
 * that username (or from that caller) get RATE_LIMITED until the window ends.
 */
export class LoginThrottle {
  private readonly opts: ThrottleOptions
  private readonly failures: LRUCache<string, Failures>

  constructor (opts: ThrottleOptions) {
    this.opts = opts
    this.failures = new LRUCache({ max: 50_000, ttl: opts.windowMs, ttlAutopurge: false })
  }

  check (login: string, caller: string): void {
    this.checkOne(`u:${login}`, this.opts.maxFailuresPerUser, 'too many failed logins for this account')
    this.checkOne(`c:${caller}`, this.opts.maxFailuresPerCaller, 'too many failed logins from this caller')
  }

  fail (login: string, caller: string): void {
    this.bump(`u:${login}`)
    this.bump(`c:${caller}`)
  }

  succeed (login: string): void {
    this.failures.delete(`u:${login}`)
  }

  private checkOne (key: string, max: number, message: string): void {
    const entry = this.failures.get(key)
    if (!entry || entry.count < max) return
    const retryAfterMs = Math.max(1, entry.since + this.opts.windowMs - Date.now())
    throw new HyperinferError('RATE_LIMITED', `${message}; try again later`, { retryAfterMs })
  }

  private bump (key: string): void {
    const entry = this.failures.get(key)
    if (entry) entry.count++
    else this.failures.set(key, { count: 1, since: Date.now() })
  }
}
