import { LRUCache } from 'lru-cache'
import { HyperinferError } from '../../shared/errors.js'

export interface ThrottleOptions {
  /** Failed logins for one account from one client before each further try must wait. */
  maxFailuresPerUser: number
  /** Failed logins from one client, whatever the account, before it must wait. */
  maxFailuresPerCaller: number
  /** Failed logins for one account from all clients together before every try must wait. */
  maxFailuresPerAccount: number
  /** The first wait; it doubles with each further failure. */
  baseBackoffMs: number
  maxBackoffMs: number
  /** Failures are forgotten this long after the last one. */
  windowMs: number
}

interface Failures { count: number, last: number }

/**
 * Login throttling with progressive backoff. `begin` checks and counts an attempt in one
 * synchronous step, so concurrent guesses cannot all pass the check before any is counted; a
 * success takes its count back. Three counters: account + client (the guesser), client alone
 * (spraying many names) and account alone, with a higher allowance (guessing from many clients).
 * An attacker's failures slow the attacker: another client's login to the same account is slowed
 * only by the account-wide counter.
 */
export class LoginThrottle {
  private readonly opts: ThrottleOptions
  private readonly failures: LRUCache<string, Failures>

  constructor (opts: ThrottleOptions) {
    this.opts = opts
    this.failures = new LRUCache({ max: 100_000, ttl: opts.windowMs })
  }

  /** Checks every counter, then counts the attempt as failed until `succeed` says otherwise. */
  begin (account: string, client: string): void {
    const keys = this.keys(account, client)
    const now = Date.now()
    let waitMs = 0
    let which = ''
    for (const [key, allowance, label] of keys) {
      const wait = this.waitFor(this.failures.get(key), allowance, now)
      if (wait > waitMs) { waitMs = wait; which = label }
    }
    if (waitMs > 0) throw new HyperinferError('RATE_LIMITED', `too many failed logins ${which}; try again later`, { retryAfterMs: waitMs })
    for (const [key] of keys) {
      const entry = this.failures.get(key)
      if (entry) {
        entry.count++
        entry.last = now
        this.failures.set(key, entry)
      } else {
        this.failures.set(key, { count: 1, last: now })
      }
    }
  }

  /** The password was right: this attempt was no failure, and the guesser's slate is clean. */
  succeed (account: string, client: string): void {
    this.failures.delete(`ac:${account}\0${client}`)
    for (const key of [`c:${client}`, `a:${account}`]) {
      const entry = this.failures.get(key)
      if (entry && entry.count > 0) entry.count--
    }
  }

  private keys (account: string, client: string): [string, number, string][] {
    return [
      [`ac:${account}\0${client}`, this.opts.maxFailuresPerUser, 'for this account'],
      [`c:${client}`, this.opts.maxFailuresPerCaller, 'from this client'],
      [`a:${account}`, this.opts.maxFailuresPerAccount, 'for this account']
    ]
  }

  private waitFor (entry: Failures | undefined, allowance: number, now: number): number {
    if (!entry || entry.count < allowance) return 0
    const backoff = Math.min(this.opts.maxBackoffMs, this.opts.baseBackoffMs * 2 ** (entry.count - allowance))
    return Math.max(0, entry.last + backoff - now)
  }
}

/** At most `max` calls per client per window (for `register`). */
export class ClientQuota {
  private readonly calls: LRUCache<string, { count: number }>
  private readonly max: number
  private readonly what: string

  constructor (max: number, windowMs: number, what: string) {
    this.max = max
    this.what = what
    this.calls = new LRUCache({ max: 100_000, ttl: windowMs })
  }

  take (client: string): void {
    const entry = this.calls.get(client)
    if (entry && entry.count >= this.max) {
      throw new HyperinferError('RATE_LIMITED', `too many ${this.what} from this client; try again later`, { retryAfterMs: Math.max(1, this.calls.getRemainingTTL(client)) })
    }
    if (entry) entry.count++
    else this.calls.set(client, { count: 1 })
  }
}
