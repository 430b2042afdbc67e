import { join } from 'node:path'
import type Corestore from 'corestore'
import type HyperDHT from 'hyperdht'
import Hyperswarm from 'hyperswarm'
import type RPC from '@hyperswarm/rpc'
import type { Registry } from 'prom-client'
import { createLogger, type Logger } from '../log.js'
import { createRegistry, platformMetrics, type PlatformMetrics } from '../metrics.js'
import { health, metrics, type HealthResponse } from '../schemas/mesh.js'
import { openFollowerBee, openOwnBee, type Bee } from '../store/bees.js'
import { preparePrivateDir } from '../store/private-files.js'
import { openCorestore } from '../store/open-corestore.js'
import type { AccessControl } from './access.js'
import type { CalleeCheck } from './access-peers.js'
import type { BootstrapNode } from './dht.js'
import type { Discovery } from './discovery.js'
import { PeerLayer } from './peer-layer.js'
import { registerMeshMetrics } from './process-metrics.js'
import { methodsOfRole, servePlaceholders } from './readiness.js'
import type { PeerClient } from './peer-client.js'
import { RpcServer, unary, type ServedMethod } from './rpc-server.js'
import type { NetworkId, NodeRole } from './topic.js'
import { encode, GOODBYE_EVENT } from './wire.js'

export const VERSION = '0.1.0'

const GRACEFUL_CLOSE_MS = 4_000
const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms).unref())

/** A role's own part of its health answer. */
export interface HealthCheck { status?: 'up' | 'degraded', details?: Record<string, unknown> }

export interface MeshNodeOptions {
  role: NodeRole
  dataDir: string
  network: NetworkId
  /** Required unless `publicNetwork` is set: see createDht. */
  bootstrap?: BootstrapNode[]
  publicNetwork?: boolean
  methods?: readonly ServedMethod[]
  log?: Logger
  /** Whether to announce on the role topic (clients such as the CLI do not). */
  announce?: boolean
  announceIntervalMs?: number
  refreshIntervalMs?: number
  /** How often live peers of watched roles are probed (see Discovery). */
  probeIntervalMs?: number
  /** Extra health details and status, asked on every `health` call. */
  healthCheck?: () => HealthCheck
  /** Who may call which method (shared/mesh/access.ts); without one the node checks no caller. */
  access?: AccessControl
  /** The pinned auth node: this node sends tokens and prompts only to it and to nodes it approved. */
  authKey?: Buffer
}

/**
 * One node of the mesh: Corestore in its data dir, an identity key pair derived from it,
 * one DHT, an RPC server with a method table, Hyperswarm for replication, a metrics registry,
 * discovery, and ordered shutdown.
 */
export class MeshNode {
  readonly role: NodeRole
  readonly dataDir: string
  readonly log: Logger
  readonly registry: Registry
  readonly metrics: PlatformMetrics
  readonly store: Corestore
  readonly startedAt = new Date()
  private readonly opts: MeshNodeOptions
  private identity!: HyperDHT.KeyPair
  private peers!: PeerLayer
  private server!: RPC.Server
  private rpcServer!: RpcServer
  private swarmNode!: Hyperswarm
  private readonly bees = new Set<Bee<unknown>>()
  private opened = false
  private ready = false
  private serverWatch: NodeJS.Timeout | null = null
  private closing: Promise<void> | null = null
  private saidGoodbye = false

  constructor (opts: MeshNodeOptions) {
    this.opts = opts
    this.role = opts.role
    this.dataDir = opts.dataDir
    this.log = opts.log ?? createLogger(opts.role)
    this.registry = createRegistry()
    this.metrics = platformMetrics(this.registry)
    registerMeshMetrics(this.registry, { dht: () => this.peers?.dht, discovery: () => this.peers?.discovery })
    preparePrivateDir(opts.dataDir, this.log)
    this.store = openCorestore(join(opts.dataDir, 'corestore'))
  }

  get publicKey (): Buffer { return this.identity.publicKey }
  get dht (): HyperDHT { return this.peers.dht }
  get swarm (): Hyperswarm { return this.swarmNode }
  get discovery (): Discovery { return this.peers.discovery }
  get access (): AccessControl { return this.rpcServer.access }
  /** Which peers may be sent a key, password, session token or prompt. */
  get trust (): CalleeCheck { return this.peers.trust }
  /** The node's RPC instance (raw calls in tests of malformed input). */
  get rpc (): RPC { return this.peers.rpc }

  async open (): Promise<this> {
    if (this.opened) return this
    await this.store.ready()
    this.identity = await this.store.createKeyPair('hyperinfer/rpc-identity')
    const swarmKeyPair = await this.store.createKeyPair('hyperinfer/swarm')
    this.peers = new PeerLayer({
      network: this.opts.network,
      bootstrap: this.opts.bootstrap,
      publicNetwork: this.opts.publicNetwork,
      keyPair: this.identity,
      log: this.log,
      announceIntervalMs: this.opts.announceIntervalMs,
      refreshIntervalMs: this.opts.refreshIntervalMs,
      probeIntervalMs: this.opts.probeIntervalMs,
      authKey: this.opts.authKey,
      registry: () => this.rpcServer.access.registryView
    })
    // A role is ready when it announces itself: it does so once its handlers are served.
    this.peers.discovery.on('announcing', (role: NodeRole) => { if (role === this.role) this.ready = true })
    // Synchronous on purpose: a Promise would be truthy and refuse everyone.
    this.server = this.rpc.createServer({ firewall: (remotePublicKey: Buffer) => this.rpcServer.refusesConnection(remotePublicKey) })
    this.rpcServer = new RpcServer(this.server, { service: this.role, metrics: this.metrics, log: this.log, access: this.opts.access })
    this.rpcServer.access.warnIfUnmanaged(this.log, this.role)
    servePlaceholders(this.server, methodsOfRole(this.role), () => this.ready, this.role)
    this.rpcServer.serve([
      unary(health, () => this.health()),
      unary(metrics, async () => ({ contentType: this.registry.contentType, text: await this.registry.metrics() })),
      ...(this.opts.methods ?? [])
    ])
    await this.server.listen(this.identity)
    this.swarmNode = new Hyperswarm({ dht: this.peers.dht, keyPair: swarmKeyPair })
    this.swarmNode.on('connection', (conn: Hyperswarm.Connection) => {
      conn.on('error', () => {})
      this.store.replicate(conn)
    })
    this.opened = true
    this.watchServerRecord()
    if (this.opts.announce !== false) await this.peers.discovery.announce(this.role)
    this.log.info({ publicKey: this.publicKey.toString('hex'), network: this.opts.network.name }, `${this.role} node listening`)
    return this
  }

  /** Add methods after open (a role that needs the node's keys to build its handlers). */
  serve (methods: readonly ServedMethod[]): void {
    this.rpcServer.serve(methods)
  }

  /** The client for one peer, kept for the node's life. */
  client (publicKey: Buffer): PeerClient {
    return this.peers.client(publicKey)
  }

  /** Serving its methods is the role's own business; a role that announces nothing says so here. */
  markReady (): void {
    this.ready = true
  }

  get isReady (): boolean { return this.ready }

  /** A Hyperbee this node writes, served to replicas over the swarm. */
  async ownBee<T> (name: string): Promise<Bee<T>> {
    const bee = await openOwnBee<T>(this.store, name)
    this.bees.add(bee as Bee<unknown>)
    await this.replicate(bee.core.discoveryKey)
    return bee
  }

  /** A replica of another node's Hyperbee. */
  async followBee<T> (key: Buffer): Promise<Bee<T>> {
    const bee = await openFollowerBee<T>(this.store, key)
    this.bees.add(bee as Bee<unknown>)
    const done = bee.core.findingPeers()
    this.replicate(bee.core.discoveryKey).then(done, done)
    return bee
  }

  health (): HealthResponse {
    const extra = this.opts.healthCheck?.() ?? {}
    return {
      role: this.role,
      version: VERSION,
      publicKey: this.publicKey.toString('hex'),
      status: extra.status ?? 'up',
      uptimeSeconds: Math.round((Date.now() - this.startedAt.getTime()) / 1000),
      startedAt: this.startedAt.toISOString(),
      details: extra.details
    }
  }

  close (): Promise<void> {
    this.closing ??= this.doClose()
    return this.closing
  }

  /**
   * hyperdht's server announces its record (how callers find our address) once at listen and then
   * only every ~5 minutes when it has no relay node at all: a node that started while the DHT was
   * unreachable could not be dialled for minutes after the DHT came back. Ask it to announce again,
   * with backoff, until it has relays.
   */
  private watchServerRecord (): void {
    const inner = (this.server as unknown as { _server?: { refresh?: () => void, _announcer?: { relays?: unknown[] } } })._server
    if (!inner?.refresh) return
    let waitMs = 1_000
    const check = (): void => {
      if (this.closing) return
      const relays = inner._announcer?.relays?.length ?? 0
      if (relays === 0) {
        this.log.warn({ retryInMs: waitMs }, 'not reachable yet: the DHT holds no record of this node; announcing again')
        inner.refresh?.()
        waitMs = Math.min(waitMs * 2, 30_000)
      } else {
        waitMs = 30_000
      }
      this.serverWatch = setTimeout(check, waitMs)
      this.serverWatch.unref()
    }
    this.serverWatch = setTimeout(check, waitMs)
    this.serverWatch.unref()
  }

  /** Tell every caller connected to us that we are leaving, so they stop routing here at once (once). */
  sayGoodbye (): void {
    if (!this.opened || this.saidGoodbye) return
    this.saidGoodbye = true
    const bye = encode({ at: Date.now() })
    for (const channel of this.server.connections) {
      try {
        if (!channel.closed) channel.event(GOODBYE_EVENT, bye)
      } catch { /* the connection is going anyway */ }
    }
  }

  private async replicate (discoveryKey: Buffer): Promise<void> {
    this.swarmNode.join(discoveryKey, { server: true, client: true })
    await this.swarmNode.flush()
  }

  private async doClose (): Promise<void> {
    if (!this.opened) {
      await this.store.close()
      return
    }
    const started = Date.now()
    const step = (name: string): void => { this.log.debug({ ms: Date.now() - started }, `close: ${name}`) }
    if (this.serverWatch) clearTimeout(this.serverWatch)
    this.sayGoodbye()
    const graceful = (async () => {
      await this.peers.discovery.close()
      step('discovery')
      await this.server.close()
      step('rpc server')
      await this.peers.close()
      await Promise.allSettled([...this.bees].map(bee => bee.close()))
      await this.swarmNode.destroy()
      step('swarm')
    })()
    // Unannouncing and leaving topics are DHT round trips; when the whole mesh stops at once they
    // only end by timing out, so past a deadline the DHT is torn down under them.
    const finished = await Promise.race([graceful.then(() => true, () => true), sleep(GRACEFUL_CLOSE_MS).then(() => false)])
    if (!finished) {
      this.log.warn(`graceful close took over ${GRACEFUL_CLOSE_MS} ms; forcing`)
      await this.swarmNode.destroy({ force: true }).catch(() => {})
      await this.peers.dht.destroy({ force: true })
    }
    await this.store.close()
    await this.peers.dht.destroy()
    this.log.info(`${this.role} node closed`)
  }
}
