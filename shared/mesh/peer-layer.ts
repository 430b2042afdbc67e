import type HyperDHT from 'hyperdht'
import type RPC from '@hyperswarm/rpc'
import type { Logger } from '../log.js'
import type { NodeRegistryView } from './access.js'
import { CalleeCheck } from './access-peers.js'
import { createDht, createRpc, type BootstrapNode } from './dht.js'
import { Discovery } from './discovery.js'
import { PeerClient, probeHealth } from './peer-client.js'
import type { NetworkId } from './topic.js'

export interface PeerLayerOptions {
  network: NetworkId
  /** Required unless `publicNetwork` is set: see createDht. */
  bootstrap?: BootstrapNode[]
  publicNetwork?: boolean
  keyPair: HyperDHT.KeyPair
  log: Logger
  announceIntervalMs?: number
  refreshIntervalMs?: number
  probeIntervalMs?: number
  /** The pinned auth node: secrets go only to it and to the nodes it approved. */
  authKey?: Buffer
  /** A node's own replica of the registry (clients without one ask the pinned auth node). */
  registry?: () => NodeRegistryView | null
}

/**
 * What every participant of the mesh calls others with, node or client: one DHT, one RPC
 * instance, discovery, a client per peer kept for the peer's life, and the check of who may
 * be sent secrets. MeshNode and MeshClient are built on it.
 */
export class PeerLayer {
  readonly dht: HyperDHT
  readonly rpc: RPC
  readonly discovery: Discovery
  /** Which peers may be sent a key, password, session token or prompt. */
  readonly trust: CalleeCheck
  private readonly clients = new Map<string, PeerClient>()

  constructor (opts: PeerLayerOptions) {
    this.dht = opts.publicNetwork ? createDht({ network: 'public' }) : createDht({ bootstrap: opts.bootstrap as BootstrapNode[] })
    this.rpc = createRpc(this.dht, opts.keyPair)
    this.discovery = new Discovery({
      dht: this.dht,
      network: opts.network,
      keyPair: opts.keyPair,
      log: opts.log,
      probe: (key, probeOpts) => probeHealth(this.client(key), probeOpts),
      heardFrom: key => this.clients.get(key.toString('hex'))?.lastAnswerAt ?? 0,
      openStreams: key => this.clients.get(key.toString('hex'))?.openStreams ?? 0,
      announceIntervalMs: opts.announceIntervalMs,
      refreshIntervalMs: opts.refreshIntervalMs,
      probeIntervalMs: opts.probeIntervalMs
    })
    // A peer discovery forgot: its connection and client go too (nodes come and go for months).
    this.discovery.on('forget', (peer: { id: string }) => { this.dropClient(peer.id) })
    // A peer marked down by its probes is taken for dead: streams still open on its connection end
    // now instead of at their idle timeouts, and the next probe dials afresh (a restarted peer).
    this.discovery.on('down', (peer: { id: string }) => { this.clients.get(peer.id)?.reset() })
    this.trust = new CalleeCheck({ authKey: opts.authKey, discovery: this.discovery, client: key => this.client(key), log: opts.log, registry: opts.registry })
  }

  /** The client for one peer, kept until discovery forgets the peer. */
  client (publicKey: Buffer): PeerClient {
    const id = publicKey.toString('hex')
    let client = this.clients.get(id)
    if (!client) {
      client = new PeerClient(this.rpc, publicKey, {
        onGoodbye: key => { this.discovery.goodbye(key) },
        onClose: key => { this.discovery.connectionClosed(key) }
      })
      this.clients.set(id, client)
    }
    return client
  }

  /** Stops discovery (unannouncing), every client and the RPC instance; the DHT is the owner's to destroy last. */
  async close (): Promise<void> {
    await this.discovery.close()
    for (const client of this.clients.values()) client.close()
    this.clients.clear()
    await this.rpc.destroy()
  }

  private dropClient (id: string): void {
    const client = this.clients.get(id)
    if (!client) return
    client.close()
    this.clients.delete(id)
  }
}
