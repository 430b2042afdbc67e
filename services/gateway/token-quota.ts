import { HyperinferError } from '../../shared/errors.js'

export interface Reservation { readonly userId: string, readonly day: string, readonly tokens: number, settled: boolean }

export function utcDay (time = Date.now()): string {
  return new Date(time).toISOString().slice(0, 10)
}

export function nextUtcMidnight (time = Date.now()): number {
  const d = new Date(time)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
}

/**
 * Daily token quotas with reservation: a request reserves its worst case before it runs and
 * settles to its real usage after. used + reserved never exceeds the quota, however many
 * requests run at once.
 */
export class TokenQuota {
  private readonly used = new Map<string, number>()
  private readonly reserved = new Map<string, number>()
  private today = ''

  /** Usage of past days is in the usage log; only today's is needed here. */
  private startDay (day: string): void {
    this.today = day
    for (const key of this.used.keys()) if (!key.startsWith(day)) this.used.delete(key)
  }

  reserve (userId: string, tokens: number, quota: number, now = Date.now()): Reservation {
    const day = utcDay(now)
    if (day !== this.today) this.startDay(day)
    const key = `${day}/${userId}`
    const used = this.used.get(key) ?? 0
    const reserved = this.reserved.get(key) ?? 0
    if (used + reserved + tokens > quota) {
      const left = Math.max(0, quota - used - reserved)
      throw new HyperinferError('QUOTA_EXCEEDED',
        `daily token quota of ${quota} would be exceeded (${left} left, this request may use ${tokens}); it resets at midnight UTC`,
        { retryAfterMs: nextUtcMidnight(now) - now, details: { quota, used, reserved, requested: tokens } })
    }
    this.reserved.set(key, reserved + tokens)
    return { userId, day, tokens, settled: false }
  }

  /** Replace the reservation by what was really used. */
  settle (reservation: Reservation, actualTokens: number): void {
    if (reservation.settled) return
    reservation.settled = true
    const key = `${reservation.day}/${reservation.userId}`
    this.reserved.set(key, (this.reserved.get(key) ?? 0) - reservation.tokens)
    if (this.reserved.get(key) === 0) this.reserved.delete(key)
    this.add(reservation.userId, reservation.day, actualTokens)
  }

  /** Gives the whole reservation back (no worker served the request). */
  refund (reservation: Reservation): void {
    this.settle(reservation, 0)
  }

  add (userId: string, day: string, tokens: number): void {
    const key = `${day}/${userId}`
    this.used.set(key, (this.used.get(key) ?? 0) + tokens)
  }

  status (userId: string, now = Date.now()): { used: number, reserved: number } {
    const key = `${utcDay(now)}/${userId}`
    return { used: this.used.get(key) ?? 0, reserved: this.reserved.get(key) ?? 0 }
  }
}
