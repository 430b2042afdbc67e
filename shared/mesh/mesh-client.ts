import HyperDHT from 'hyperdht'
import { createLogger, type Logger } from '../log.js'
import type { CalleeCheck } from './access-peers.js'
import type { BootstrapNode } from './dht.js'
import type { Discovery } from './discovery.js'
import { PeerLayer } from './peer-layer.js'
import type { PeerClient } from './peer-client.js'
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
 * A caller on the mesh that serves nothing and stores nothing: the peer layer (DHT, RPC clients,
 * discovery) under a random key. The CLI and the client library are built on it.
 */
export class MeshClient {
  readonly log: Logger
  private readonly peers: PeerLayer
  private readonly keyPair: HyperDHT.KeyPair
  private closing: Promise<void> | null = null

  constructor (opts: MeshClientOptions) {
    this.log = opts.log ?? createLogger('client', process.env.LOG_LEVEL ?? 'warn')
    this.keyPair = HyperDHT.keyPair()
    this.peers = new PeerLayer({ ...opts, keyPair: this.keyPair, log: this.log })
  }

  get discovery (): Discovery { return this.peers.discovery }
  /** Which nodes may be sent a key, password, session token or prompt. */
  get trust (): CalleeCheck { return this.peers.trust }
  /** The key this client dials with (random per client). */
  get publicKey (): Buffer { return this.keyPair.publicKey }

  client (publicKey: Buffer): PeerClient {
    return this.peers.client(publicKey)
  }

  close (): Promise<void> {
    this.closing ??= (async () => {
      await this.peers.close()
      await this.peers.dht.destroy()
    })()
    return this.closing
  }
}
