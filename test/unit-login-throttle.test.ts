import t from 'tap'
import { ClientQuota, LoginThrottle, type ThrottleOptions } from '../services/auth/login-throttle.js'

const OPTIONS: ThrottleOptions = { maxFailuresPerUser: 3, maxFailuresPerCaller: 5, maxFailuresPerAccount: 8, baseBackoffMs: 1_000, maxBackoffMs: 4_000, windowMs: 3_600_000 }

/** The throttle reads Date.now(); each test sets the clock it needs. */
function fakeClock (t: { teardown (fn: () => void): void }): { now: number } {
  const clock = { now: 1_700_000_000_000 }
  const real = Date.now
  Date.now = () => clock.now
  t.teardown(() => { Date.now = real })
  return clock
}

function waitOf (fn: () => void): number | null {
  try {
    fn()
    return null
  } catch (err) {
    const coded = err as { code?: string, retryAfterMs?: number }
    if (coded.code !== 'RATE_LIMITED') throw err
    return coded.retryAfterMs ?? NaN
  }
}

t.test('per account and client: the allowance passes, then each failure doubles the wait up to the cap', async t => {
  const clock = fakeClock(t)
  const throttle = new LoginThrottle(OPTIONS)
  for (let i = 0; i < 3; i++) t.equal(waitOf(() => throttle.begin('alice', 'mallory')), null, `failure ${i + 1} is within the allowance`)
  t.equal(waitOf(() => throttle.begin('alice', 'mallory')), 1_000, 'the 4th try waits the base backoff')
  clock.now += 999
  t.equal(waitOf(() => throttle.begin('alice', 'mallory')), 1, 'still refused 1 ms before the wait ends (a refused try counts nothing)')
  clock.now += 1
  t.equal(waitOf(() => throttle.begin('alice', 'mallory')), null, 'admitted when the wait is over, and counted as a failure')
  t.equal(waitOf(() => throttle.begin('alice', 'mallory')), 2_000, 'the next wait is twice as long')
  clock.now += 2_000
  throttle.begin('alice', 'mallory')
  clock.now += 4_000
  throttle.begin('alice', 'mallory')
  t.equal(waitOf(() => throttle.begin('alice', 'mallory')), 4_000, 'capped at maxBackoffMs (8 s would be next)')
})

t.test('a success clears the guesser\'s slate for that account and takes back one count of the others', async t => {
  const clock = fakeClock(t)
  const throttle = new LoginThrottle({ ...OPTIONS, maxFailuresPerCaller: 4, maxFailuresPerAccount: 4 })
  for (let i = 0; i < 3; i++) throttle.begin('alice', 'laptop')
  t.equal(waitOf(() => throttle.begin('alice', 'laptop')), 1_000)
  clock.now += 1_000
  throttle.begin('alice', 'laptop')
  throttle.succeed('alice', 'laptop')
  t.equal(waitOf(() => throttle.begin('alice', 'laptop')), null, 'the account+client counter was cleared, and the 4th try no longer counts for client or account')
  t.equal(waitOf(() => throttle.begin('alice', 'laptop')), 1_000, 'client and account kept the three real failures: one more is the 4th')
})

t.test('spraying many accounts from one client hits the per-client counter', async t => {
  fakeClock(t)
  const throttle = new LoginThrottle(OPTIONS)
  for (let i = 0; i < 5; i++) throttle.begin(`user${i}`, 'sprayer')
  t.equal(waitOf(() => throttle.begin('user99', 'sprayer')), 1_000, 'a sixth account from the same client waits')
  t.equal(waitOf(() => throttle.begin('user99', 'someone-else')), null, 'another client is not slowed')
})

t.test('many clients guessing one account hit the account-wide counter; that slows the owner too, and only past its higher allowance', async t => {
  fakeClock(t)
  const throttle = new LoginThrottle(OPTIONS)
  for (let i = 0; i < 7; i++) throttle.begin('bob', `botnet-${i}`)
  t.equal(waitOf(() => throttle.begin('bob', 'owner')), null, 'the 8th failure is within the account allowance')
  t.equal(waitOf(() => throttle.begin('bob', 'owner')), 1_000, 'then every client waits')
  t.equal(waitOf(() => throttle.begin('carol', 'owner')), null, 'other accounts are not slowed')
})

t.test('begin counts before it returns: parallel tries cannot all pass the check', async t => {
  fakeClock(t)
  const throttle = new LoginThrottle(OPTIONS)
  const waits = Array.from({ length: 10 }, () => waitOf(() => throttle.begin('alice', 'parallel')))
  t.equal(waits.filter(w => w === null).length, 3, 'exactly the allowance passed')
})

t.test('register quota: at most max calls per client, then RATE_LIMITED with a positive wait', async t => {
  const quota = new ClientQuota(2, 60_000, 'registrations')
  quota.take('c1')
  quota.take('c1')
  const wait = waitOf(() => quota.take('c1'))
  t.ok(wait !== null && wait > 0 && wait <= 60_000, `the third waits at most the window (${wait} ms)`)
  t.equal(waitOf(() => quota.take('c2')), null, 'another client has its own count')
})
