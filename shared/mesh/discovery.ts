import { EventEmitter } from 'node:events'
import type HyperDHT from 'hyperdht'
import { HyperinferError } from '../errors.js'
import type { Logger } from '../log.js'
import type { HealthResponse } from '../schemas/mesh.js'
import { roleTopic, type NetworkId, type Role } from './topic.js'

const UNANNOUNCE_WAIT_MS = 2_000

export interface PeerInfo {
  readonly publicKey: Buffer
  readonly id: string
  readonly role: Role
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
  probe (publicKey: Buffer): Promise<HealthResponse>
  announceIntervalMs?: number
  refreshIntervalMs?: number
  /** Consecutive failed probes after which a peer is forgotten (it returns if it answers again). */
  evictAfterFailures?: number
}

/**
 * Announces this node on its role topic and finds peers of other roles: DHT lookups,
 * a cache, health probes that mark silent peers down (announcements outlive crashed nodes
 * by up to 20 minutes) and evict them.
 * Emits 'up' and 'down' with a PeerInfo.
 */
export class Discovery extends EventEmitter {
  private readonly opts: Required<Omit<DiscoveryOptions, 'log' | 'probe' | 'dht' | 'network' | 'keyPair'>> & DiscoveryOptions
  private readonly announced = new Set<Role>()
  private readonly cache = new Map<Role, Map<string, PeerInfo>>()
  private readonly refreshing = new Map<Role, Promise<PeerInfo[]>>()
  private readonly timers: NodeJS.Timeout[] = []
  private readonly selfId: string
  private closed = false

  constructor (opts: DiscoveryOptions) {
    super()
    this.opts = { announceIntervalMs: 5 * 60_000, refreshIntervalMs: 3_000, evictAfterFailures: 3, ...opts }
    this.selfId = opts.keyPair.publicKey.toString('hex')
  }

  /** Announce on the role's topic now and again every announceIntervalMs. */
  async announce (role: Role): Promise<void> {
    this.announced.add(role)
    await this.announceOnce(role)
    this.every(this.opts.announceIntervalMs, () => this.announceOnce(role))
  }

  /** Keep the cache of a role's peers fresh in the background. */
  watch (role: Role): void {
    if (this.cache.has(role)) return
    this.cache.set(role, new Map())
    this.refresh(role).catch(() => {})
    this.every(this.opts.refreshIntervalMs, () => this.refresh(role))
  }

  /** Live peers of a role from the cache (call watch or refresh first). */
  peers (role: Role): PeerInfo[] {
    return [...(this.cache.get(role)?.values() ?? [])].filter(peer => peer.status === 'up')
  }

  /** Everything known of a role, down peers included. */
  known (role: Role): PeerInfo[] {
    return [...(this.cache.get(role)?.values() ?? [])]
  }

  /** Look the role up on the DHT, probe what was found and what is cached; returns live peers. */
  refresh (role: Role): Promise<PeerInfo[]> {
    const running = this.refreshing.get(role)
    if (running) return running
    const next = this.doRefresh(role).finally(() => this.refreshing.delete(role))
    this.refreshing.set(role, next)
    return next
  }

  /** Resolves with the live peers of a role once there are at least `count`. */
  async waitFor (role: Role, { count = 1, timeoutMs = 15_000 } = {}): Promise<PeerInfo[]> {
    this.watch(role)
    const cached = this.peers(role)
    if (cached.length >= count) return cached
    const deadline = Date.now() + timeoutMs
    let delay = 50
    for (;;) {
      const live = await this.refresh(role)
      if (live.length >= count) return live
      if (this.closed) throw new HyperinferError('UNAVAILABLE', 'discovery closed')
      if (Date.now() + delay > deadline) {
        throw new HyperinferError('UNAVAILABLE', `no ${role} node found on network "${this.opts.network.name}" within ${timeoutMs} ms (found ${live.length}, need ${count}); ${this.opts.network.name === 'devnet' ? 'is the devnet running (npm start)?' : `is one running with the same --network and --network-secret, reaching the same --bootstrap?`}`)
      }
      await new Promise(resolve => setTimeout(resolve, delay))
      delay = Math.min(delay * 2, 1_000)
    }
  }

  /** Report a failed call so the peer is probed and, if silent, marked down at once. */
  reportFailure (role: Role, publicKey: Buffer): void {
    const peer = this.cache.get(role)?.get(publicKey.toString('hex'))
    if (peer) void this.probe(role, peer)
  }

  async close (): Promise<void> {
    this.closed = true
    for (const timer of this.timers) clearInterval(timer)
    // Best effort: when the whole mesh shuts down at once, DHT queries only end by timing out.
    const unannounce = Promise.allSettled([...this.announced].map(role =>
      this.opts.dht.unannounce(roleTopic(this.opts.network, role), this.opts.keyPair)))
    await Promise.race([unannounce, new Promise(resolve => setTimeout(resolve, UNANNOUNCE_WAIT_MS).unref())])
  }

  private async announceOnce (role: Role): Promise<void> {
    if (this.closed) return
    await this.opts.dht.announce(roleTopic(this.opts.network, role), this.opts.keyPair).finished()
  }

  private async doRefresh (role: Role): Promise<PeerInfo[]> {
    let byId = this.cache.get(role)
    if (!byId) this.cache.set(role, byId = new Map())
    const found = await this.lookup(role)
    for (const publicKey of found) {
      const id = publicKey.toString('hex')
      if (!byId.has(id)) byId.set(id, { publicKey, id, role, status: 'down', lastSeen: 0, failures: 0 })
    }
    await Promise.all([...byId.values()].map(peer => this.probe(role, peer)))
    return this.peers(role)
  }

  private async lookup (role: Role): Promise<Buffer[]> {
    if (this.closed) return []
    const keys = new Map<string, Buffer>()
    try {
      for await (const reply of this.opts.dht.lookup(roleTopic(this.opts.network, role))) {
        for (const peer of reply.peers) {
          const id = peer.publicKey.toString('hex')
          if (id !== this.selfId) keys.set(id, peer.publicKey)
        }
      }
    } catch (err) {
      this.opts.log.debug({ err, role }, 'lookup failed')
    }
    return [...keys.values()]
  }

  private async probe (role: Role, peer: PeerInfo): Promise<void> {
    try {
      const health = await this.opts.probe(peer.publicKey)
      if (health.role !== role) throw new HyperinferError('INVALID_ARGUMENT', `announced as ${role} but is ${health.role}`)
      peer.health = health
      peer.lastSeen = Date.now()
      peer.failures = 0
      if (peer.status !== 'up') {
        peer.status = 'up'
        this.emit('up', peer)
      }
    } catch (err) {
      peer.failures++
      if (peer.status === 'up') {
        peer.status = 'down'
        this.opts.log.info({ peer: peer.id.slice(0, 12), role, err: (err as Error).message }, 'peer stopped answering')
        this.emit('down', peer)
      }
      if (peer.failures >= this.opts.evictAfterFailures) this.cache.get(role)?.delete(peer.id)
    }
  }

  private every (ms: number, fn: () => Promise<unknown>): void {
    if (this.closed) return
    const timer = setInterval(() => { fn().catch(err => this.opts.log.debug({ err }, 'periodic discovery task failed')) }, ms)
    timer.unref()
    this.timers.push(timer)
  }
}
