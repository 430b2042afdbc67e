import { createHash, randomUUID } from 'node:crypto'
import type { AccountReplica, KeyLookup } from '../../shared/accounts/replica.js'
import { HyperinferError } from '../../shared/errors.js'
import type { PlatformMetrics } from '../../shared/metrics.js'
import type { RequestRateLimiter } from './request-rate-limiter.js'
import type { Reservation, TokenQuota } from './token-quota.js'
import type { UsageLog } from './usage-log.js'
import type { WorkerPool } from './worker-pool.js'
import type { ActivityTracker } from './activity.js'
import { modelUnavailable } from './unapproved-workers.js'

export interface AdmitDeps {
  accounts: AccountReplica
  pool: WorkerPool
  limiter: RequestRateLimiter
  quota: TokenQuota
  usage: UsageLog
  activity: ActivityTracker
  metrics: PlatformMetrics
  touches: { touch (keyId: string, userId: string): void }
}

/** A request past the key check, its limits and its quota, with its intent journaled. */
export interface Admission {
  readonly account: KeyLookup
  readonly requestId: string
  readonly model: string
  /** Admission time, ISO (the record's place in the log). */
  readonly at: string
  readonly promptSha256: string
  /** What the request was counted against, and when (for a refund). */
  readonly slot: { ids: string[], at: number } | null
  readonly reservation: Reservation | null
}

export function authenticate (accounts: AccountReplica, apiKey: string): KeyLookup {
  const account = accounts.lookupKey(apiKey)
  if (!account) throw new HyperinferError('UNAUTHENTICATED', 'unknown API key')
  if (!account.live) throw new HyperinferError('UNAUTHENTICATED', 'this API key was revoked')
  return account
}

/** Whether some approved worker serves `model` (looking again once on a miss). */
export async function isServed (pool: WorkerPool, model: string): Promise<boolean> {
  if (pool.candidates(model).length > 0) return true
  await pool.refresh()
  return pool.candidates(model).length > 0
}

export function unservedError (pool: WorkerPool, model: string): HyperinferError {
  return modelUnavailable(model, pool.unapproved())
}

/**
 * Counts the request against its key's and user's hourly limits and reserves its worst case
 * of tokens, then writes its intent. Throws RATE_LIMITED or QUOTA_EXCEEDED with nothing taken.
 */
export function admit (deps: AdmitDeps, account: KeyLookup, model: string, promptText: string, maxTokens: number): Admission {
  const { limits, plan } = account
  const subjects = [
    { id: `key:${account.keyId}`, limit: limits.requestsPerHour },
    { id: `user:${account.userId}`, limit: limits.requestsPerHour }
  ]
  let at: number
  try {
    at = deps.limiter.take(subjects)
  } catch (err) {
    deps.metrics.rateLimitViolations.inc({ plan, kind: 'requests' })
    throw err
  }
  const ids = subjects.map(s => s.id)
  let reservation: Reservation
  try {
    // Worst case: every prompt byte a token, plus special tokens, plus every allowed completion token.
    reservation = deps.quota.reserve(account.userId, maxTokens + Buffer.byteLength(promptText) + 16, limits.tokensPerDay)
  } catch (err) {
    deps.limiter.refund(ids, at)
    deps.metrics.rateLimitViolations.inc({ plan, kind: 'tokens' })
    throw err
  }
  deps.activity.seen(account.userId)
  deps.touches.touch(account.keyId, account.userId)
  return intent(deps, account, model, promptText, { ids, at }, reservation)
}

/** The log entry of a request that is refused before any limit is counted (an unserved model). */
export function untaken (deps: AdmitDeps, account: KeyLookup, model: string, promptText: string): Admission {
  return intent(deps, account, model, promptText, null, null)
}

function intent (deps: AdmitDeps, account: KeyLookup, model: string, promptText: string, slot: Admission['slot'], reservation: Reservation | null): Admission {
  const requestId = randomUUID()
  const at = new Date().toISOString()
  const promptSha256 = createHash('sha256').update(promptText).digest('hex')
  deps.usage.admit({
    id: requestId, at, userId: account.userId, keyId: account.keyId, model, promptSha256, reservedTokens: reservation?.tokens ?? 0
  })
  return { account, requestId, model, at, promptSha256, slot, reservation }
}

export type RefundReason = 'queue_timeout' | 'queue_full' | 'unserved' | 'cancelled'

/** Gives back the hourly slot and the token reservation of a request no worker served. */
export function refund (deps: Pick<AdmitDeps, 'limiter' | 'quota' | 'metrics'>, admission: Admission, reason: RefundReason): void {
  if (admission.slot) deps.limiter.refund(admission.slot.ids, admission.slot.at)
  if (admission.reservation) deps.quota.refund(admission.reservation)
  deps.metrics.refunds.inc({ reason })
}
