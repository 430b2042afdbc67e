import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import type HyperDHT from 'hyperdht'
import { Discovery, type DiscoveryOptions } from '../shared/mesh/discovery.js'
import type { Logger } from '../shared/log.js'
import type { HealthResponse } from '../shared/schemas/mesh.js'
import { roleTopic, type NodeRole } from '../shared/mesh/topic.js'
import { until } from './helpers/until.js'

const silent = { debug () {}, info () {}, warn () {}, error () {} } as unknown as Logger

const NETWORK = { name: 'cadence' }

/** A DHT whose lookups list the peers of the topic's role at once, recording when each lookup started. */
function fakeDht (peers: Peer[]): { dht: HyperDHT, lookups: number[] } {
  const lookups: number[] = []
  const dht = {
    lookup (topic: Buffer) {
      lookups.push(Date.now())
      const replies = [{ peers: peers.filter(p => roleTopic(NETWORK, p.role).equals(topic)).map(p => ({ publicKey: p.key })) }]
      return Object.assign((async function * () { yield * replies })(), { destroy () {} })
    },
    announce () { return { finished: async () => {} } },
    unannounce: async () => {}
  }
  return { dht: dht as unknown as HyperDHT, lookups }
}

interface Peer { key: Buffer, role: NodeRole, alive: boolean, probes: number[], hangs?: boolean }

function discoveryOf (t: Test, peers: Peer[], opts: Partial<DiscoveryOptions>): { discovery: Discovery, lookups: number[] } {
  const { dht, lookups } = fakeDht(peers)
  const discovery = new Discovery({
    dht,
    network: NETWORK,
    keyPair: { publicKey: randomBytes(32), secretKey: randomBytes(64) },
    log: silent,
    async probe (publicKey, { timeoutMs }) {
      const peer = peers.find(p => p.key.equals(publicKey))
      if (!peer) throw new Error('unknown peer')
      peer.probes.push(Date.now())
      if (peer.hangs) await new Promise(resolve => setTimeout(resolve, timeoutMs))
      if (!peer.alive || peer.hangs) throw new Error('no answer')
      return { role: peer.role, version: 'test', publicKey: publicKey.toString('hex'), status: 'up', uptimeSeconds: 1, startedAt: '' } satisfies HealthResponse
    },
    ...opts
  })
  t.teardown(() => discovery.close())
  return { discovery, lookups }
}

const gaps = (times: number[]): number[] => times.slice(1).map((at, i) => at - times[i])

t.test('lookups that keep finding the same peers space out to 6 intervals; a peer going down brings the next one back to one', async t => {
  const gateway: Peer = { key: randomBytes(32), role: 'gateway', alive: true, probes: [] }
  const refreshIntervalMs = 200
  const { discovery, lookups } = discoveryOf(t, [gateway], { refreshIntervalMs, probeIntervalMs: 60_000 })
  discovery.watch('gateway')
  await until('six lookups', () => lookups.length >= 6, { timeoutMs: 20_000 })
  t.equal(discovery.peers('gateway').length, 1, 'the peer is live')
  const spaced = gaps(lookups)
  // Timers never fire early, so these lower bounds hold on any machine.
  t.ok(spaced[spaced.length - 1] >= 5 * refreshIntervalMs, `the wait grew to ~6 intervals (gaps ${spaced.join(', ')} ms)`)

  await until('a lookup just ran', () => Date.now() - lookups[lookups.length - 1] < 50 && lookups.length, { everyMs: 5 })
  const before = lookups.length
  gateway.alive = false
  const downAt = Date.now()
  discovery.reportFailure('gateway', gateway.key)
  await until('the peer is down', () => discovery.peers('gateway').length === 0, { on: [[discovery, 'down']] })
  await until('the next lookup', () => lookups.length > before, { timeoutMs: 10_000, everyMs: 10 })
  const after = lookups[before] - downAt
  t.ok(after < 6 * refreshIntervalMs - 100, `looked up ${after} ms after the peer went down, not at the end of the long wait (${6 * refreshIntervalMs} ms)`)
})

t.test('live workers are probed every interval; live peers of other roles about 4 intervals apart', async t => {
  const worker: Peer = { key: randomBytes(32), role: 'inference', alive: true, probes: [] }
  const auth: Peer = { key: randomBytes(32), role: 'auth', alive: true, probes: [] }
  const probeIntervalMs = 100
  const { discovery } = discoveryOf(t, [worker, auth], { refreshIntervalMs: 60_000, probeIntervalMs })
  discovery.watch('inference')
  discovery.watch('auth')
  await until('both live', () => discovery.peers('inference').length === 1 && discovery.peers('auth').length === 1, { on: [[discovery, 'up']] })
  const from = { worker: worker.probes.length, auth: auth.probes.length }
  await until('four more probes of the auth node', () => auth.probes.length >= from.auth + 4, { timeoutMs: 20_000, everyMs: 20 })
  const workerProbes = worker.probes.length - from.worker
  const authProbes = auth.probes.length - from.auth
  t.ok(workerProbes >= 2 * authProbes, `the worker was probed ${workerProbes} times while the auth node was probed ${authProbes} times`)
  const authGaps = gaps(auth.probes.slice(from.auth))
  t.ok(Math.min(...authGaps) >= 3 * probeIntervalMs, `auth probes ${authGaps.join(', ')} ms apart`)

  worker.alive = false
  await until('the killed worker is down', () => discovery.peers('inference').length === 0, { timeoutMs: 10_000, on: [[discovery, 'down']] })
  t.pass('a worker that stops answering is down at the next probe')
})

t.test('a worker is probed every tick even while it answers calls, and a peer whose probes hang delays no one', async t => {
  const worker: Peer = { key: randomBytes(32), role: 'inference', alive: true, probes: [] }
  const stuck: Peer = { key: randomBytes(32), role: 'inference', alive: true, probes: [] }
  const probeIntervalMs = 100
  const { discovery } = discoveryOf(t, [worker, stuck], {
    refreshIntervalMs: 60_000,
    probeIntervalMs,
    probeTimeoutMs: 10 * probeIntervalMs,
    heardFrom: () => Date.now()
  })
  discovery.watch('inference')
  await until('both live', () => discovery.peers('inference').length === 2, { on: [[discovery, 'up']] })
  stuck.hangs = true
  const from = worker.probes.length
  const startedAt = Date.now()
  await until('the stuck peer is down', () => discovery.peers('inference').length === 1, { timeoutMs: 20_000, on: [[discovery, 'down']] })
  const ticks = Math.floor((Date.now() - startedAt) / probeIntervalMs)
  const probed = worker.probes.length - from
  // Timers never fire early, so no more than one probe a tick; a tick waiting on the stuck probe would allow about one in ten.
  t.ok(probed >= ticks / 2, `the live worker was probed ${probed} times in ${ticks} ticks while the other one's probe hung`)
})
