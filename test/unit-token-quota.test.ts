import t from 'tap'
import { TokenQuota, nextUtcMidnight, utcDay } from '../services/gateway/token-quota.js'

const MIDNIGHT = Date.UTC(2026, 2, 1)
const BEFORE_MIDNIGHT = MIDNIGHT - 1

function refusal (fn: () => unknown): { code?: string, retryAfterMs?: number, details?: Record<string, number> } | null {
  try {
    fn()
    return null
  } catch (err) {
    return err as never
  }
}

t.test('UTC day and next midnight at the boundary (and across a month end)', async t => {
  t.equal(utcDay(BEFORE_MIDNIGHT), '2026-02-28')
  t.equal(utcDay(MIDNIGHT), '2026-03-01', 'midnight belongs to the new day')
  t.equal(nextUtcMidnight(BEFORE_MIDNIGHT), MIDNIGHT)
  t.equal(nextUtcMidnight(MIDNIGHT), MIDNIGHT + 24 * 3_600_000, 'at midnight the next reset is a whole day away')
  t.equal(utcDay(Date.UTC(2028, 1, 29, 23, 59)), '2028-02-29', 'leap day')
})

t.test('reserve: used + reserved never exceeds the quota; the refusal says what is left and when it resets', async t => {
  const quota = new TokenQuota()
  const at = MIDNIGHT + 3_600_000
  quota.reserve('u', 60, 100, at)
  quota.reserve('u', 40, 100, at)
  const refused = refusal(() => quota.reserve('u', 1, 100, at))
  t.match(refused, { code: 'QUOTA_EXCEEDED', retryAfterMs: 23 * 3_600_000, details: { quota: 100, used: 0, reserved: 100, requested: 1 } }, 'the exact quota is reachable, one more is not')
  t.same(quota.status('u', at), { used: 0, reserved: 100 })
  t.same(quota.status('v', at), { used: 0, reserved: 0 }, 'another user is untouched')
})

t.test('settle replaces the reservation by the real usage, once; refund gives it all back', async t => {
  const quota = new TokenQuota()
  const at = MIDNIGHT + 1
  const big = quota.reserve('u', 80, 100, at)
  t.match(refusal(() => quota.reserve('u', 30, 100, at)), { code: 'QUOTA_EXCEEDED' }, 'the worst case is held while the request runs')
  quota.settle(big, 12)
  quota.settle(big, 12)
  t.same(quota.status('u', at), { used: 12, reserved: 0 }, 'a second settle changes nothing')
  const small = quota.reserve('u', 88, 100, at)
  quota.refund(small)
  quota.refund(small)
  t.same(quota.status('u', at), { used: 12, reserved: 0 }, 'refunded once, and no negative reservation')
})

t.test('a settlement can exceed the reservation: usage above the quota then refuses the next request', async t => {
  const quota = new TokenQuota()
  const at = MIDNIGHT + 1
  quota.settle(quota.reserve('u', 10, 100, at), 150)
  t.match(refusal(() => quota.reserve('u', 1, 100, at)), { code: 'QUOTA_EXCEEDED', details: { used: 150 } })
  t.match(refusal(() => quota.reserve('u', 1, 100, at))?.toString(), /0 left/, 'never a negative amount left')
})

t.test('day rollover: a new day starts from zero; a request admitted before midnight is billed to the day it was admitted', async t => {
  const quota = new TokenQuota()
  quota.settle(quota.reserve('u', 50, 100, BEFORE_MIDNIGHT - 10), 50)
  const lateRequest = quota.reserve('u', 50, 100, BEFORE_MIDNIGHT)
  t.match(refusal(() => quota.reserve('u', 1, 100, BEFORE_MIDNIGHT)), { code: 'QUOTA_EXCEEDED', retryAfterMs: 1 }, 'full one ms before midnight, reset in 1 ms')
  t.same(quota.status('u', MIDNIGHT), { used: 0, reserved: 0 }, 'after midnight yesterday\'s use and reservation do not count')
  quota.reserve('u', 100, 100, MIDNIGHT)
  quota.settle(lateRequest, 50)
  t.same(quota.status('u', MIDNIGHT), { used: 0, reserved: 100 }, 'yesterday\'s late settlement is not charged to today')
  t.equal(quota.status('u', BEFORE_MIDNIGHT).reserved, 0, 'and its reservation on yesterday is released')
})

t.test('add (restore from the usage log) counts only toward its own day', async t => {
  const quota = new TokenQuota()
  const today = utcDay(MIDNIGHT)
  quota.add('u', today, 90)
  quota.add('u', '2026-02-28', 1_000)
  t.same(quota.status('u', MIDNIGHT + 5), { used: 90, reserved: 0 })
  t.match(refusal(() => quota.reserve('u', 11, 100, MIDNIGHT + 5)), { code: 'QUOTA_EXCEEDED', details: { used: 90 } })
  t.equal(refusal(() => quota.reserve('u', 10, 100, MIDNIGHT + 5)), null, 'exactly the rest fits')
})

t.test('a quota of 0 refuses every request that may use a token', async t => {
  const quota = new TokenQuota()
  t.match(refusal(() => quota.reserve('u', 1, 0, MIDNIGHT)), { code: 'QUOTA_EXCEEDED' })
})
