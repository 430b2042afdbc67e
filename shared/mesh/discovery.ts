import { EventEmitter } from 'node:events'
import type HyperDHT from 'hyperdht'
import { HyperinferError } from '../errors.js'
import type { Logger } from '../log.js'
import type { HealthResponse } from '../schemas/mesh.js'
import { Backoff } from './backoff.js'
import { roleTopic, type NetworkId, type NodeRole } from './topic.js'

const UNANNOUNCE_WAIT_MS = 2_000
// Idle cost: live workers are probed every probeIntervalMs (a killed worker must leave the gateway's
// pool within seconds); live peers of other roles this many times less often, since their callers
// report a failed call, which probes at once (health probes were most of an idle node's RPC traffic).
const SLOW_PROBE_FACTOR = 4
// A lookup that finds the same peers as the one before doubles the wait to the next, up to this many
// refresh intervals; any change (a new peer, one going down) brings it back to one interval.
const STABLE_LOOKUP_FACTOR = 6
/** Probes a peer with streams open may miss in a row before it counts as down. */
const BUSY_PEER_MISSES = 3

export interface PeerInfo {
  readonly publicKey: Buffer
  readonly id: string
  readonly role: NodeRole
  status: 'up' | 'down'
  lastSeen: number
  failures: number
  health?: HealthResponse
}

export interface DiscoveryOptions {
  dht: HyperDHT
  network: NetworkId
  keyPair: HyperDHT.KeyPair
  log: Logger
  /** A liveness probe: the peer's health, within timeoutMs. */
  probe (publicKey: Buffer, opts: { timeoutMs: number }): Promise<HealthResponse>
  /** When the peer last answered any call (ms since epoch): a peer that just answered needs no probe. */
  heardFrom? (publicKey: Buffer): number
  /** Streams this process has open with the peer: a peer serving them may answer a probe late without being gone. */
  openStreams? (publicKey: Buffer): number
  announceIntervalMs?: number
  /** How often a watched role is looked up on the DHT (new peers are probed in the same round). */
  refreshIntervalMs?: number
  /** How often live workers are probed (a killed worker is marked down within this plus probeTimeoutMs); live peers of other roles, SLOW_PROBE_FACTOR times less often. */
  probeIntervalMs?: number
  probeTimeoutMs?: number
  /** Longest a lookup may take; a slow DHT never stalls a refresh past this. */
  lookupTimeoutMs?: number
  /** Longest wait between two probes of a peer that stopped answering, or two announce attempts. */
  maxBackoffMs?: number
}

interface Entry extends PeerInfo {
  /** When a down peer may be dialled again. */
  nextProbeAt: number
  /** Listed by the latest lookup. */
  listed: boolean
}

interface Watch {
  timer: NodeJS.Timeout | null
  /** Consecutive failed lookups, for the backoff. */
  failures: number
  /** Consecutive lookups that found nobody live. */
  empty: number
  /** Consecutive lookups that found the same peers in the same state, and what they found. */
  stable: number
  seen: string
  /** The watcher learns of failures its own way (the metrics node's scrapes): live peers are probed slowly. */
  slowProbes: boolean
}

/**
 * Announces this node on its role topic and follows peers of other roles.
 * - Lookups are bounded and cheap: they only add peers; a new one is probed in the same round.
 * - Live peers are probed on their own, short cadence, so a crashed peer is down within seconds;
 *   one that stopped answering is redialled with backoff, and a stale DHT record never makes a
 *   peer live: only an answered probe does.
 * - A peer that says goodbye (graceful leave) is down at once.
 * - Announce and lookup failures are logged and retried with backoff; nothing here throws at a caller
 *   because the DHT had a bad moment.
 * Emits 'up' and 'down' with a PeerInfo, 'forget' with a PeerInfo it dropped, 'announcing' when it
 * starts announcing a role and 'announced' after each announce that succeeded.
 */
export class Discovery extends EventEmitter {
  private readonly opts: Required<Omit<DiscoveryOptions, 'log' | 'probe' | 'heardFrom' | 'openStreams' | 'dht' | 'network' | 'keyPair'>> & DiscoveryOptions
  private readonly announcing = new Map<NodeRole, NodeJS.Timeout | null>()
  private readonly cache = new Map<NodeRole, Map<string, Entry>>()
  private readonly watches = new Map<NodeRole, Watch>()
  private readonly refreshing = new Map<NodeRole, Promise<PeerInfo[]>>()
  private readonly topics = new Map<NodeRole, Buffer>()
  /** Roles whose latest lookup failed (for the lookup backoff; a refresh never throws for it). */
  private readonly lookupFailed = new Set<NodeRole>()
  private readonly probing = new Map<string, Promise<void>>()
  private probeTimer: NodeJS.Timeout | null = null
  private readonly selfId: string
  private closed = false

  constructor (opts: DiscoveryOptions) {
    super()
    this.opts = {
      announceIntervalMs: 5 * 60_000,
      refreshIntervalMs: 5_000,
      probeIntervalMs: 2_000,
      probeTimeoutMs: 2_000,
      lookupTimeoutMs: 3_000,
      maxBackoffMs: 10_000,
      ...withoutUndefined(opts)
    } as Discovery['opts']
    this.selfId = opts.keyPair.publicKey.toString('hex')
  }

  /**
   * Announce on the role's topic now and again every announceIntervalMs. Resolves after the first
   * attempt; a failed attempt is logged and retried with backoff, so a DHT that is not up yet
   * only delays being found.
   */
  async announce (role: NodeRole): Promise<void> {
    if (this.closed || this.announcing.has(role)) return
    this.announcing.set(role, null)
    this.emit('announcing', role)
    const backoff = new Backoff({ initialMs: 500, maxMs: Math.max(this.opts.maxBackoffMs, 1_000) * 3 })
    const attempt = async (): Promise<void> => {
      if (this.closed) return
      let next: number
      try {
        await this.opts.dht.announce(this.topic(role), this.opts.keyPair).finished()
        if (backoff.attempts > 0) this.opts.log.info({ role, attempts: backoff.attempts + 1 }, 'announced after retrying')
        backoff.reset()
        next = this.opts.announceIntervalMs
        this.emit('announced', role)
      } catch (err) {
        next = backoff.next()
        this.opts.log.warn({ role, err: (err as Error).message, retryInMs: next }, 'announce failed; retrying')
      }
      if (this.closed) return
      const timer = setTimeout(() => { void attempt() }, next)
      timer.unref()
      this.announcing.set(role, timer)
    }
    await attempt()
  }

  /**
   * Keep the peers of a role fresh in the background until unwatch. With slowProbes, live workers
   * too are probed only every few intervals (for a watcher that calls them regularly anyway).
   */
  watch (role: NodeRole, { slowProbes }: { slowProbes?: boolean } = {}): void {
    const watching = this.watches.get(role)
    if (watching && slowProbes !== undefined) watching.slowProbes = slowProbes
    if (this.closed || watching) return
    this.cacheOf(role)
    this.watches.set(role, { timer: null, failures: 0, empty: 0, stable: 0, seen: '', slowProbes: slowProbes ?? false })
    void this.lookupRound(role)
    this.startProbing()
  }

  /** Stop following a role (its cached peers stay as they were). */
  unwatch (role: NodeRole): void {
    const watch = this.watches.get(role)
    if (!watch) return
    if (watch.timer) clearTimeout(watch.timer)
    this.watches.delete(role)
  }

  /** Live peers of a role from the cache (call watch or refresh first). */
  peers (role: NodeRole): PeerInfo[] {
    return [...(this.cache.get(role)?.values() ?? [])].filter(peer => peer.status === 'up')
  }

  /** Everything known of a role, down peers included. */
  known (role: NodeRole): PeerInfo[] {
    return [...(this.cache.get(role)?.values() ?? [])]
  }

  /**
   * Look the role up now and probe peers that are new or due; returns the live peers.
   * With maxWaitMs, answers with what is known by then and lets the round finish in the background.
   */
  refresh (role: NodeRole, { maxWaitMs }: { maxWaitMs?: number } = {}): Promise<PeerInfo[]> {
    let running = this.refreshing.get(role)
    if (!running) {
      running = this.doRefresh(role).finally(() => this.refreshing.delete(role))
      this.refreshing.set(role, running)
    }
    if (maxWaitMs === undefined) return running
    return Promise.race([running, delay(maxWaitMs).then(() => this.peers(role))])
  }

  /** Resolves with the live peers of a role once there are at least `count`. */
  async waitFor (role: NodeRole, { count = 1, timeoutMs = 15_000 } = {}): Promise<PeerInfo[]> {
    this.watch(role)
    const cached = this.peers(role)
    if (cached.length >= count) return cached
    const deadline = Date.now() + timeoutMs
    let wait = 100
    for (;;) {
      if (this.closed) throw new HyperinferError('UNAVAILABLE', 'discovery closed')
      const left = deadline - Date.now()
      // A caller is waiting: a listed peer never reached yet is dialled again on every round, not
      // after the probe backoff (meant for peers that stopped answering). A fresh process's first
      // dials often stall past the probe timeout; with backoff it got 4 tries in 15 s, all failed.
      this.redialUnreached(role)
      const live = await this.refresh(role, { maxWaitMs: Math.max(0, left) })
      if (live.length >= count) return live
      if (Date.now() + wait > deadline) {
        throw new HyperinferError('UNAVAILABLE', `no ${role} node found on network "${this.opts.network.name}" within ${timeoutMs} ms (found ${live.length}, need ${count}); ${this.opts.network.name === 'devnet' ? 'is the devnet running (npm start)?' : 'is one running with the same --network and --network-secret, reaching the same --bootstrap?'}`)
      }
      await this.nextUp(role, wait)
      wait = Math.min(wait * 2, 1_000)
    }
  }

  /**
   * Peers of a role that the lookup lists but that never answered become due for a probe now.
   * Returns how many there were (a one-shot caller such as `hyperinfer status` redials while any are left).
   */
  redialUnreached (role: NodeRole): number {
    let count = 0
    for (const entry of this.cache.get(role)?.values() ?? []) {
      if (entry.status === 'down' && entry.listed && entry.lastSeen === 0) {
        entry.nextProbeAt = 0
        count++
      }
    }
    return count
  }

  /** A call failed at the transport level: probe the peer now so it is marked down at once if silent. */
  reportFailure (role: NodeRole, publicKey: Buffer): void {
    const peer = this.cache.get(role)?.get(publicKey.toString('hex'))
    if (peer) void this.probe(peer)
  }

  /** The peer's connection closed: if it is still there, the probe redials it; if not, it is down now. */
  connectionClosed (publicKey: Buffer): void {
    for (const byId of this.cache.values()) {
      const peer = byId.get(publicKey.toString('hex'))
      if (peer?.status === 'up') void this.probe(peer)
    }
  }

  /** The peer said goodbye (it is shutting down): down at once, redialled only with backoff. */
  goodbye (publicKey: Buffer): void {
    const id = publicKey.toString('hex')
    for (const byId of this.cache.values()) {
      const peer = byId.get(id)
      if (!peer) continue
      peer.failures = Math.max(peer.failures, 1)
      peer.nextProbeAt = Date.now() + this.probeBackoff(peer)
      this.markDown(peer, 'said goodbye')
    }
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    for (const role of [...this.watches.keys()]) this.unwatch(role)
    for (const timer of this.announcing.values()) if (timer) clearTimeout(timer)
    if (this.probeTimer) clearInterval(this.probeTimer)
    // Best effort: when the whole mesh shuts down at once, DHT queries only end by timing out.
    const unannounce = Promise.allSettled([...this.announcing.keys()].map(role =>
      this.opts.dht.unannounce(this.topic(role), this.opts.keyPair)))
    await Promise.race([unannounce, delay(UNANNOUNCE_WAIT_MS)])
  }

  private topic (role: NodeRole): Buffer {
    let topic = this.topics.get(role)
    if (!topic) this.topics.set(role, topic = roleTopic(this.opts.network, role))
    return topic
  }

  private cacheOf (role: NodeRole): Map<string, Entry> {
    let byId = this.cache.get(role)
    if (!byId) this.cache.set(role, byId = new Map())
    return byId
  }

  private async lookupRound (role: NodeRole): Promise<void> {
    const watch = this.watches.get(role)
    if (!watch || this.closed) return
    await this.refresh(role).catch(() => {})
    if (this.watches.get(role) !== watch || this.closed) return
    watch.failures = this.lookupFailed.has(role) ? watch.failures + 1 : 0
    // A role with nobody live is looked for often at first, then less (a mesh may not run that role
    // at all); a failing DHT less often too.
    watch.empty = this.peers(role).length === 0 ? watch.empty + 1 : 0
    const seen = this.known(role).map(peer => peer.id + peer.status).sort().join()
    watch.stable = watch.empty === 0 && seen === watch.seen ? watch.stable + 1 : 0
    watch.seen = seen
    const base = watch.empty > 0
      ? Math.min(500 * 2 ** watch.empty, this.opts.refreshIntervalMs)
      : this.opts.refreshIntervalMs * Math.min(2 ** watch.stable, STABLE_LOOKUP_FACTOR)
    const next = watch.failures === 0 ? base : Math.min(base * 2 ** watch.failures, 30_000)
    this.scheduleLookup(role, watch, next)
  }

  private scheduleLookup (role: NodeRole, watch: Watch, ms: number): void {
    if (watch.timer) clearTimeout(watch.timer)
    watch.timer = setTimeout(() => { void this.lookupRound(role) }, ms)
    watch.timer.unref()
  }

  /** Something changed in a role (a peer went down): its next lookup is one refresh interval away again. */
  private lookSoon (role: NodeRole): void {
    const watch = this.watches.get(role)
    if (!watch || watch.stable === 0 || this.closed) return
    watch.stable = 0
    watch.seen = ''
    if (watch.timer && !this.refreshing.has(role)) this.scheduleLookup(role, watch, this.opts.refreshIntervalMs)
  }

  private async doRefresh (role: NodeRole): Promise<PeerInfo[]> {
    const byId = this.cacheOf(role)
    const found = await this.lookup(role)
    const now = Date.now()
    const due: Entry[] = []
    for (const entry of byId.values()) entry.listed = false
    for (const publicKey of found) {
      const id = publicKey.toString('hex')
      let entry = byId.get(id)
      if (!entry) {
        entry = { publicKey, id, role, status: 'down', lastSeen: 0, failures: 0, nextProbeAt: 0, listed: true }
        byId.set(id, entry)
      }
      entry.listed = true
      if (entry.status === 'down' && entry.nextProbeAt <= now) due.push(entry)
    }
    await Promise.all(due.map(entry => this.probe(entry)))
    for (const entry of byId.values()) {
      // Down and no longer announced (it left, or its record expired): forget it.
      if (!entry.listed && entry.status === 'down' && entry.failures > 0) {
        byId.delete(entry.id)
        this.emit('forget', entry)
      }
    }
    return this.peers(role)
  }

  private async lookup (role: NodeRole): Promise<Buffer[]> {
    if (this.closed) return []
    const keys = new Map<string, Buffer>()
    const query = this.opts.dht.lookup(this.topic(role))
    const timer = setTimeout(() => { query.destroy() }, this.opts.lookupTimeoutMs)
    try {
      for await (const reply of query) {
        for (const peer of reply.peers) {
          const id = peer.publicKey.toString('hex')
          if (id !== this.selfId) keys.set(id, peer.publicKey)
        }
      }
      this.lookupFailed.delete(role)
    } catch (err) {
      // A lookup cut short by its timeout still counts as answered when it found peers.
      if (keys.size === 0) {
        this.lookupFailed.add(role)
        this.opts.log.debug({ err: (err as Error).message, role }, 'lookup failed; retrying with backoff')
      } else {
        this.lookupFailed.delete(role)
      }
    } finally {
      clearTimeout(timer)
    }
    return [...keys.values()]
  }

  /**
   * Probes on a fixed cadence: a tick never waits for the probes of the one before (one slow or
   * unreachable peer must not stretch the time it takes to notice that another one died); probe()
   * keeps to one probe per peer at a time.
   */
  private startProbing (): void {
    if (this.probeTimer || this.closed) return
    this.probeTimer = setInterval(() => { this.probeDuePeers() }, this.opts.probeIntervalMs)
    this.probeTimer.unref()
  }

  private probeDuePeers (): void {
    if (this.closed) return
    const now = Date.now()
    for (const role of this.watches.keys()) {
      for (const entry of this.cache.get(role)?.values() ?? []) {
        if (entry.status === 'up' && !this.liveProbeDue(entry, now)) continue
        if (entry.status === 'up' || (entry.listed && entry.nextProbeAt <= now)) void this.probe(entry)
      }
    }
  }

  /**
   * A worker watched for routing is probed every tick: skipping one because it answered a call
   * lately would add a whole interval to the time a killed worker stays in the pool. Peers of other
   * roles are probed SLOW_PROBE_FACTOR times less often, and not at all while they keep answering.
   */
  private liveProbeDue (entry: Entry, now: number): boolean {
    if (entry.role === 'inference' && this.watches.get(entry.role)?.slowProbes === false) return true
    const heard = this.opts.heardFrom?.(entry.publicKey) ?? 0
    if (now - heard < this.opts.probeIntervalMs) return false
    // Half a tick early, so the probe falls on the tick nearest SLOW_PROBE_FACTOR intervals.
    return now - Math.max(heard, entry.lastSeen) >= (SLOW_PROBE_FACTOR - 0.5) * this.opts.probeIntervalMs
  }

  /** One probe per peer at a time. */
  private probe (entry: Entry): Promise<void> {
    const key = entry.role + ':' + entry.id
    let running = this.probing.get(key)
    if (!running) {
      running = this.doProbe(entry).finally(() => this.probing.delete(key))
      this.probing.set(key, running)
    }
    return running
  }

  private async doProbe (entry: Entry): Promise<void> {
    if (this.closed) return
    try {
      const health = await this.opts.probe(entry.publicKey, { timeoutMs: this.opts.probeTimeoutMs })
      if (health.role !== entry.role) throw new HyperinferError('INVALID_ARGUMENT', `announced as ${entry.role} but is ${health.role}`)
      entry.health = health
      entry.lastSeen = Date.now()
      entry.failures = 0
      entry.nextProbeAt = 0
      if (entry.status !== 'up' && !this.closed) {
        entry.status = 'up'
        this.emit('up', entry)
      }
    } catch (err) {
      entry.failures++
      entry.nextProbeAt = Date.now() + this.probeBackoff(entry)
      this.opts.log.debug({ peer: entry.id.slice(0, 12), role: entry.role, err: (err as Error).message, failures: entry.failures }, 'probe failed')
      // A peer taking on a burst of streams (1,000 at once, on a loaded machine) can miss a probe or two:
      // marking it down would fail every one of them. A dead peer with streams open misses them all.
      if (entry.failures < BUSY_PEER_MISSES && (this.opts.openStreams?.(entry.publicKey) ?? 0) > 0) return
      this.markDown(entry, (err as Error).message)
    }
  }

  private probeBackoff (entry: Entry): number {
    return Math.min(this.opts.maxBackoffMs, 500 * 2 ** Math.max(0, entry.failures - 1))
  }

  private markDown (entry: Entry, reason: string): void {
    if (entry.status !== 'up') return
    entry.status = 'down'
    this.opts.log.info({ peer: entry.id.slice(0, 12), role: entry.role, reason }, 'peer down')
    this.lookSoon(entry.role)
    this.emit('down', entry)
  }

  /** Resolves at the next 'up' of the role, or after ms. */
  private nextUp (role: NodeRole, ms: number): Promise<void> {
    return new Promise(resolve => {
      const onUp = (peer: PeerInfo): void => { if (peer.role === role) done() }
      const timer = setTimeout(() => { done() }, ms)
      const done = (): void => {
        clearTimeout(timer)
        this.off('up', onUp)
        resolve()
      }
      this.on('up', onUp)
    })
  }
}

function delay (ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms).unref())
}

function withoutUndefined<T extends object> (value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
