import t from 'tap'
import { RequestRateLimiter } from '../services/gateway/request-rate-limiter.js'

const WINDOW = 1_000
const T0 = 1_700_000_000_000

function refusal (fn: () => unknown): { code?: string, retryAfterMs?: number, details?: { scope?: string } } | null {
  try {
    fn()
    return null
  } catch (err) {
    return err as never
  }
}

t.test('window boundary: an admission counts until exactly windowMs later, and retryAfterMs lands on that instant', async t => {
  const limiter = new RequestRateLimiter(WINDOW)
  const key = [{ id: 'key:a', limit: 2 }]
  limiter.take(key, T0)
  limiter.take(key, T0 + 400)
  const refused = refusal(() => limiter.take(key, T0 + 500))
  t.match(refused, { code: 'RATE_LIMITED', retryAfterMs: 500, details: { scope: 'key' } }, 'the third waits until the first leaves the window')
  t.match(refusal(() => limiter.take(key, T0 + WINDOW - 1)), { code: 'RATE_LIMITED', retryAfterMs: 1 }, 'one ms before the boundary: still refused')
  t.equal(refusal(() => limiter.take(key, T0 + 500 + refused!.retryAfterMs!)), null, 'admitted at the instant retryAfterMs named')
  t.same(limiter.usage('key:a', T0 + WINDOW), { used: 2, resetAt: T0 + 400 + WINDOW }, 'the oldest left, the other two remain')
})

t.test('all or nothing: a request refused for the user is not counted against its key', async t => {
  const limiter = new RequestRateLimiter(WINDOW)
  limiter.take([{ id: 'user:u', limit: 1 }], T0)
  const both = [{ id: 'key:k', limit: 5 }, { id: 'user:u', limit: 1 }]
  t.match(refusal(() => limiter.take(both, T0 + 10)), { code: 'RATE_LIMITED', details: { scope: 'user' } }, 'the user is full')
  t.equal(limiter.usage('key:k', T0 + 10).used, 0, 'the key was charged nothing')
  limiter.take(both, T0 + WINDOW)
  t.same([limiter.usage('key:k', T0 + WINDOW).used, limiter.usage('user:u', T0 + WINDOW).used], [1, 1], 'an admission counts against every subject')
})

t.test('the longest wait of the blocked subjects is the one reported', async t => {
  const limiter = new RequestRateLimiter(WINDOW)
  limiter.take([{ id: 'user:u', limit: 1 }], T0)
  limiter.take([{ id: 'key:k', limit: 1 }], T0 + 300)
  const refused = refusal(() => limiter.take([{ id: 'user:u', limit: 1 }, { id: 'key:k', limit: 1 }], T0 + 500))
  t.match(refused, { retryAfterMs: 800, details: { scope: 'key' } }, 'the key frees last (at T0+1300), so its wait is the answer')
})

t.test('refund gives back exactly the refunded admission; unknown refunds change nothing', async t => {
  const limiter = new RequestRateLimiter(WINDOW)
  const key = [{ id: 'key:a', limit: 2 }]
  const first = limiter.take(key, T0)
  const second = limiter.take(key, T0 + 100)
  limiter.refund(['key:a', 'key:unknown'], second)
  limiter.refund(['key:a'], T0 + 999)
  t.same(limiter.usage('key:a', T0 + 200), { used: 1, resetAt: first + WINDOW }, 'one left, the first')
  limiter.take(key, T0 + 200)
  t.match(refusal(() => limiter.take(key, T0 + 300)), { code: 'RATE_LIMITED' }, 'the refunded slot was used again, no more')
  limiter.refund(['key:a'], first)
  limiter.refund(['key:a'], T0 + 200)
  t.same(limiter.usage('key:a', T0 + 300), { used: 0, resetAt: null }, 'all given back')
})

t.test('two admissions in the same millisecond: a refund takes back only one', async t => {
  const limiter = new RequestRateLimiter(WINDOW)
  const key = [{ id: 'key:a', limit: 3 }]
  const at = limiter.take(key, T0)
  limiter.take(key, T0)
  limiter.refund(['key:a'], at)
  t.equal(limiter.usage('key:a', T0).used, 1)
})

t.test('restore after a restart: out-of-order times are sorted and times outside the window are dropped', async t => {
  const limiter = new RequestRateLimiter(WINDOW)
  limiter.restore('user:u', [T0 + 900, T0 - 5_000, T0 + 100, T0 + 500])
  t.same(limiter.usage('user:u', T0 + 950), { used: 3, resetAt: T0 + 100 + WINDOW }, 'the stale one is gone, the oldest live one resets first')
  t.match(refusal(() => limiter.take([{ id: 'user:u', limit: 3 }], T0 + 950)), { retryAfterMs: 150 }, 'restored admissions count against the limit')
})

t.test('usage of an unknown subject is empty and leaves nothing behind', async t => {
  const limiter = new RequestRateLimiter(WINDOW)
  t.same(limiter.usage('key:never', T0), { used: 0, resetAt: null })
})

t.test('a plan with a limit of 0 admits nothing', async t => {
  const limiter = new RequestRateLimiter(WINDOW)
  t.match(refusal(() => limiter.take([{ id: 'key:zero', limit: 0 }], T0)), { code: 'RATE_LIMITED' })
})
