import HyperDHT from 'hyperdht'
import RPC from '@hyperswarm/rpc'
import { createLogger, type Logger } from '../log.js'
import { health } from '../schemas/mesh.js'
import { CalleeCheck } from './access-peers.js'
import { createDht, type BootstrapNode } from './dht.js'
import { Discovery } from './discovery.js'
import { PeerClient, probeHealth } from './rpc-client.js'
import type { NetworkId } from './topic.js'

export interface MeshClientOptions {
  network: NetworkId
  bootstrap?: BootstrapNode[]
  publicNetwork?: boolean
  log?: Logger
  refreshIntervalMs?: number
  probeIntervalMs?: number
  /** The pinned auth node: secrets go only to it and to the nodes it approved. */
  authKey?: Buffer
}

/**
 * A caller on the mesh that serves nothing and stores nothing: a DHT, RPC clients and
 * discovery. The CLI and the client library are built on it.
 */
export class MeshClient {
  readonly discovery: Discovery
  readonly log: Logger
  /** Which nodes may be sent a key, password, session token or prompt. */
  readonly trust: CalleeCheck
  private readonly dht: HyperDHT
  private readonly rpc: RPC
  private readonly clients = new Map<string, PeerClient>()
  private readonly keyPair: HyperDHT.KeyPair
  private closing: Promise<void> | null = null

  constructor (opts: MeshClientOptions) {
    this.log = opts.log ?? createLogger('client', process.env.LOG_LEVEL ?? 'warn')
    this.dht = opts.publicNetwork ? createDht({ network: 'public' }) : createDht({ bootstrap: opts.bootstrap as BootstrapNode[] })
    const keyPair = HyperDHT.keyPair()
    this.keyPair = keyPair
    this.rpc = new RPC({ dht: this.dht, keyPair })
    this.discovery = new Discovery({
      dht: this.dht,
      network: opts.network,
      keyPair,
      log: this.log,
      probe: (key, probeOpts) => probeHealth(this.client(key), probeOpts),
      heardFrom: key => this.clients.get(key.toString('hex'))?.lastAnswerAt ?? 0,
      refreshIntervalMs: opts.refreshIntervalMs,
      probeIntervalMs: opts.probeIntervalMs
    })
    this.discovery.on('forget', (peer: { id: string }) => {
      this.clients.get(peer.id)?.close()
      this.clients.delete(peer.id)
    })
    this.trust = new CalleeCheck({ authKey: opts.authKey, discovery: this.discovery, client: key => this.client(key), log: this.log })
  }

  /** The key this client dials with (random per client). */
  get publicKey (): Buffer { return this.keyPair.publicKey }

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

  close (): Promise<void> {
    this.closing ??= (async () => {
      await this.discovery.close()
      for (const client of this.clients.values()) client.close()
      await this.rpc.destroy()
      await this.dht.destroy()
    })()
    return this.closing
  }
}
