import t from 'tap'
import { Registry } from 'prom-client'
import { platformMetrics } from '../shared/metrics.js'
import { AdmissionQueue } from '../services/gateway/admission-queue.js'
import { FairQueue } from '../services/gateway/fair-queue.js'
import type { Lease, WorkerState } from '../services/gateway/worker-pool.js'

function drain<T> (queue: FairQueue<T>): T[] {
  const out: T[] = []
  for (let item = queue.next(); item !== undefined; item = queue.next()) out.push(item)
  return out
}

t.test('round robin: a burst does not hold back a late single request', async t => {
  const queue = new FairQueue<string>()
  for (let i = 0; i < 300; i++) queue.push('a', 1, `a${i}`)
  t.equal(queue.next(), 'a0')
  queue.push('b', 1, 'b0')
  t.equal(queue.position('b', 'b0'), 2, 'b is at most one dispatch away')
  const order = drain(queue)
  t.ok(order.indexOf('b0') <= 1, `b0 dispatched as number ${order.indexOf('b0') + 2} of 301 (a0 went before it arrived)`)
  t.equal(order.length, 300)
  t.same(order.filter(x => x.startsWith('a')), Array.from({ length: 299 }, (_, i) => `a${i + 1}`), 'a user\'s own requests stay in order')
  t.equal(queue.size, 0)
})

t.test('weights: a premium user (4) gets four dispatches to a default user\'s one', async t => {
  const queue = new FairQueue<string>()
  for (let i = 0; i < 20; i++) queue.push('free', 1, 'f')
  for (let i = 0; i < 20; i++) queue.push('premium', 4, 'p')
  const first = drain(queue).slice(0, 20).join('')
  t.equal(first, 'fpppp'.repeat(4), 'DRR turns: 1 then 4')
})

t.test('fractional weights carry over between rounds', async t => {
  const queue = new FairQueue<string>()
  for (let i = 0; i < 6; i++) queue.push('half', 0.5, 'h')
  for (let i = 0; i < 6; i++) queue.push('one', 1, 'o')
  t.equal(drain(queue).slice(0, 6).join(''), 'ohooho', 'two dispatches to one over two rounds')
})

t.test('three users share evenly; removal and unshift keep the lanes right', async t => {
  const queue = new FairQueue<string>()
  for (const user of ['x', 'y', 'z']) for (let i = 0; i < 3; i++) queue.push(user, 1, `${user}${i}`)
  t.ok(queue.remove('y', 'y1'))
  t.notOk(queue.remove('y', 'nope'))
  queue.unshift('z', 1, 'z-again')
  t.same(drain(queue), ['x0', 'y0', 'z-again', 'x1', 'y2', 'z0', 'x2', 'z1', 'z2'])
})

function fakeLease (id: string): Lease {
  return { worker: { peer: { id } } as unknown as WorkerState, signal: new AbortController().signal, end () {} }
}

function admission (slots: { free: number }, opts: { maxPerModel?: number, timeoutMs?: number } = {}) {
  const registry = new Registry()
  const metrics = platformMetrics(registry)
  let n = 0
  const queue = new AdmissionQueue({
    maxPerModel: opts.maxPerModel ?? 100,
    timeoutMs: opts.timeoutMs ?? 60_000,
    planWeights: { premium: 4 },
    metrics,
    claim: () => slots.free > 0 ? (slots.free--, fakeLease(`w${n++}`)) : null
  })
  return { queue, registry }
}

t.test('admission: straight through with a free slot, queued without, fair when slots free', async t => {
  const slots = { free: 1 }
  const { queue, registry } = admission(slots)
  const signal = new AbortController().signal
  const first = queue.wait('m', 'a', 'default', { signal })
  t.equal(first.position(), 0, 'not queued')
  await first.lease
  const served: string[] = []
  const tickets = [
    ...Array.from({ length: 5 }, (_, i) => ({ who: `a${i}`, ticket: queue.wait('m', 'a', 'default', { signal }) })),
    { who: 'b0', ticket: queue.wait('m', 'b', 'default', { signal }) }
  ]
  for (const { who, ticket } of tickets) void ticket.lease.then(() => served.push(who))
  t.equal(queue.depth('m'), 6)
  t.match(await registry.getSingleMetricAsString('ai_platform_queue_depth'), /model="m"} 6/)
  for (let i = 0; i < 6; i++) {
    slots.free++
    queue.pump()
    await new Promise(resolve => setImmediate(resolve))
  }
  t.same(served, ['a0', 'b0', 'a1', 'a2', 'a3', 'a4'])
  t.equal(queue.depth('m'), 0)
  t.match(await registry.getSingleMetricAsString('ai_platform_queue_wait_seconds'), /ai_platform_queue_wait_seconds_count{model="m"} 7/)
})

t.test('admission: full queue is BUSY naming the limit; deadline is TIMEOUT naming whose; cancel is CANCELLED', async t => {
  const { queue } = admission({ free: 0 }, { maxPerModel: 2, timeoutMs: 5_000 })
  const controller = new AbortController()
  const cancelled = queue.wait('m', 'a', 'default', { signal: controller.signal })
  const timed = queue.wait('m', 'a', 'default', { signal: new AbortController().signal, timeoutMs: 50 })
  t.throws(() => queue.wait('m', 'c', 'default', { signal: new AbortController().signal }),
    { code: 'BUSY', message: /gateway\.queue\.maxPerModel = 2.*retry in \d+ s/, retryAfterMs: Number })
  controller.abort()
  await t.rejects(cancelled.lease, { code: 'CANCELLED' })
  await t.rejects(timed.lease, { code: 'TIMEOUT', message: /within 50 ms \(limit queueTimeoutMs\)/, details: { limit: 'queueTimeoutMs' } })
  t.equal(queue.depth('m'), 0)
  const again = queue.wait('m', 'a', 'default', { signal: new AbortController().signal, waitedMs: 4_990 })
  await t.rejects(again.lease, { code: 'TIMEOUT', details: { limit: 'gateway.queue.timeoutMs' } }, 'time already waited counts')
})

t.test('admission: requests for a model nobody serves end after the grace', async t => {
  const { queue } = admission({ free: 0 })
  const waiting = queue.wait('gone', 'a', 'default', { signal: new AbortController().signal })
  const unserved = (): never => { throw new Error('not yet') }
  queue.sweep(() => false, 10_000, unserved)
  t.equal(queue.depth('gone'), 1, 'within the grace it waits')
  const { HyperinferError } = await import('../shared/errors.js')
  // A grace of 0 has passed at once: no sleep needed to be past it.
  queue.sweep(() => false, 0, () => new HyperinferError('MODEL_UNAVAILABLE', 'no worker'))
  await t.rejects(waiting.lease, { code: 'MODEL_UNAVAILABLE' })
})

t.test('admission: a request back from a failed worker gets another worker with room when there is one', async t => {
  const registry = new Registry()
  const free = new Map([['w1', 1], ['w2', 1]])
  const ended: string[] = []
  const queue = new AdmissionQueue({
    maxPerModel: 10,
    timeoutMs: 60_000,
    planWeights: {},
    metrics: platformMetrics(registry),
    claim: (_model, avoid) => {
      const id = [...free.keys()].find(w => free.get(w)! > 0 && !avoid?.has(w))
      if (!id) return null
      free.set(id, free.get(id)! - 1)
      return { worker: { peer: { id } } as unknown as WorkerState, signal: new AbortController().signal, end () { ended.push(id); free.set(id, free.get(id)! + 1) } }
    }
  })
  const lease = await queue.wait('m', 'a', 'default', { signal: new AbortController().signal, again: true, avoid: new Set(['w1']) }).lease
  t.equal(lease.worker.peer.id, 'w2', 'the worker that failed it is passed over')
  t.same(ended, ['w1'], 'the slot first found is given back')
  t.equal(free.get('w1'), 1)
  const only = await queue.wait('m', 'b', 'default', { signal: new AbortController().signal, again: true, avoid: new Set(['w1']) }).lease
  t.equal(only.worker.peer.id, 'w1', 'with no other worker free, the one it failed on is used again')
})
