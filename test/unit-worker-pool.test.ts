import t from 'tap'
import { EventEmitter } from 'node:events'
import type { PeerInfo } from '../shared/mesh/discovery.js'
import type { BackendCapacity } from '../shared/schemas/capacity.js'
import { WorkerPool, freeSlots } from '../services/gateway/worker-pool.js'

const MODEL = 'm'

/** Just enough of Discovery for the pool: the live inference peers, and 'up'/'down' events. */
class FakeDiscovery extends EventEmitter {
  list: PeerInfo[] = []
  failures: string[] = []
  watch (): void {}
  peers (): PeerInfo[] { return this.list }
  async refresh (): Promise<void> {}
  reportFailure (_role: string, publicKey: Buffer): void { this.failures.push(publicKey.toString('hex')) }
}

function peer (name: string, models: string[], capacity?: BackendCapacity[]): PeerInfo {
  const id = Buffer.from(name.padEnd(32, '.')).toString('hex')
  return {
    publicKey: Buffer.from(id, 'hex'),
    id,
    role: 'inference',
    status: 'up',
    lastSeen: 0,
    failures: 0,
    health: {
      role: 'inference', version: 'test', publicKey: id, status: 'up', uptimeSeconds: 1, startedAt: '',
      details: { models, ...(capacity ? { capacity: { version: 1, backends: capacity } } : {}) }
    }
  }
}

const backend = (fields: Partial<BackendCapacity> = {}): BackendCapacity =>
  ({ backend: 'b', models: [MODEL], concurrency: 2, running: 0, queued: 0, queueSize: 0, ...fields })

function makePool (t: { teardown (fn: () => void): void }, approved: (id: string) => boolean = () => true): { pool: WorkerPool, discovery: FakeDiscovery } {
  const discovery = new FakeDiscovery()
  const metrics = { workers: { reset () {}, set () {}, inc () {} } }
  const pool = new WorkerPool({ discovery: discovery as never, isApproved: approved, log: console as never, metrics: metrics as never })
  t.teardown(() => pool.close())
  return { pool, discovery }
}

const names = (states: { peer: PeerInfo }[]): string[] => states.map(s => Buffer.from(s.peer.id, 'hex').toString().replace(/\.+$/, ''))

t.test('candidates: only approved workers serving the model, fewest outstanding first, then lowest latency; ties keep discovery order', async t => {
  const { pool, discovery } = makePool(t, id => !Buffer.from(id, 'hex').toString().startsWith('rogue'))
  discovery.list = [peer('a', [MODEL]), peer('b', [MODEL]), peer('c', [MODEL]), peer('other', ['x']), peer('rogue', [MODEL])]
  t.same(names(pool.candidates(MODEL)), ['a', 'b', 'c'], 'a full tie: discovery order, unapproved and other models left out')
  const [a, b, c] = pool.candidates(MODEL)
  const leaseA = pool.claim(a, MODEL)
  t.same(names(pool.candidates(MODEL)), ['b', 'c', 'a'], 'a busy worker goes last')
  pool.claim(b, MODEL).end(50)
  pool.claim(c, MODEL).end(20)
  t.same(names(pool.candidates(MODEL)), ['c', 'b', 'a'], 'equal load: the faster worker first')
  leaseA.end(10)
  t.same(names(pool.candidates(MODEL)), ['a', 'c', 'b'], 'a finished request leaves only its latency')
  t.same(names(pool.candidates('x')), ['other'])
  t.same(pool.candidates('nobody-serves-this'), [])
})

t.test('latency is a weighted average: one slow answer does not bury a fast worker', async t => {
  const { pool, discovery } = makePool(t)
  discovery.list = [peer('a', [MODEL])]
  const [a] = pool.candidates(MODEL)
  pool.claim(a, MODEL).end(100)
  t.equal(a.latencyMs, 100, 'the first sample is taken as it is')
  pool.claim(a, MODEL).end(1_100)
  t.equal(a.latencyMs, 300, '0.8 of the old plus 0.2 of the new')
  pool.claim(a, MODEL).end(null)
  t.equal(a.latencyMs, 300, 'a request without an answer time leaves it alone')
})

t.test('a lease ends once: the second end neither frees a slot twice nor emits room again', async t => {
  const { pool, discovery } = makePool(t)
  discovery.list = [peer('a', [MODEL], [backend({ concurrency: 2 })])]
  const [a] = pool.candidates(MODEL)
  let rooms = 0
  pool.on('room', () => { rooms++ })
  const first = pool.claim(a, MODEL)
  const second = pool.claim(a, MODEL)
  t.equal(pool.withRoom(MODEL), null, 'two of two slots taken')
  first.end(5)
  first.end(5)
  t.equal(a.outstanding, 1)
  t.equal(rooms, 1)
  second.end(5, false)
  t.equal(rooms, 1, 'a slot given back unused emits no room')
  t.equal(a.outstanding, 0)
})

t.test('free slots: the larger of the worker\'s own count and this gateway\'s; no capacity known means one at a time', async t => {
  const { pool, discovery } = makePool(t)
  discovery.list = [peer('told', [MODEL], [backend({ concurrency: 3, running: 1, queued: 1 })]), peer('silent', [MODEL])]
  const [told, silent] = pool.candidates(MODEL)
  t.equal(freeSlots(told, MODEL), 1, 'the worker reports 2 of 3 in use')
  pool.claim(told, MODEL)
  t.equal(freeSlots(told, MODEL), 1, 'its own count already includes what this gateway sent')
  pool.claim(told, MODEL)
  pool.claim(told, MODEL)
  t.equal(freeSlots(told, MODEL), 0, 'three sent by this gateway fill it, whatever the worker said')
  t.equal(freeSlots(silent, MODEL), 1)
  pool.claim(silent, MODEL)
  t.equal(freeSlots(silent, MODEL), 0)
  t.equal(pool.withRoom(MODEL), null)
})

t.test('withRoom skips excluded and full workers, best first; full() closes a worker until it reports again', async t => {
  const { pool, discovery } = makePool(t)
  discovery.list = [peer('a', [MODEL], [backend()]), peer('b', [MODEL], [backend()])]
  const [a, b] = pool.candidates(MODEL)
  t.equal(pool.withRoom(MODEL), a)
  t.equal(pool.withRoom(MODEL, new Set([a.peer.id])), b, 'a failed worker is not retried for the same request')
  pool.full(a, MODEL)
  t.equal(pool.withRoom(MODEL), b, 'a worker that said BUSY gets nothing more')
  t.equal(freeSlots(a, MODEL), 0, 'its slots count as taken')
  t.same(pool.models().get(MODEL)?.length, 2, 'it is still a live worker of the model')
})

t.test('a worker that goes down: its leases are aborted with UNAVAILABLE, waiters hear workers, it leaves the candidates', async t => {
  const { pool, discovery } = makePool(t)
  const a = peer('a', [MODEL])
  discovery.list = [a, peer('b', [MODEL])]
  const [stateA] = pool.candidates(MODEL)
  const lease = pool.claim(stateA, MODEL)
  let workers = 0
  pool.on('workers', () => { workers++ })
  discovery.list = discovery.list.filter(p => p !== a)
  discovery.emit('down', a)
  t.equal(lease.signal.aborted, true)
  t.match(lease.signal.reason, { code: 'UNAVAILABLE' })
  t.equal(workers, 1)
  t.same(names(pool.candidates(MODEL)), ['b'])
  pool.reportFailure(pool.candidates(MODEL)[0])
  t.same(discovery.failures.length, 1, 'a transport failure asks discovery to probe the worker')
})

t.test('a worker that comes up emits room, so queued requests look again', async t => {
  const { pool, discovery } = makePool(t)
  let rooms = 0
  pool.on('room', () => { rooms++ })
  discovery.list = [peer('late', [MODEL])]
  discovery.emit('up', discovery.list[0])
  t.equal(rooms, 1)
  t.equal(pool.candidates(MODEL).length, 1)
})
