import HyperDHT from 'hyperdht'
import type { BootstrapNode } from './dht.js'

export interface BootstrapHostOptions {
  /** The IPv4 address other hosts reach this one at (the bootstrapper announces it). */
  host: string
  /** UDP port of the bootstrapper; the persistent nodes take the next ones (port + 1 ...). */
  port: number
  /** Persistent DHT nodes beside the bootstrapper: hosts behind NAT need several to learn their NAT type. */
  nodes?: number
  /** Other bootstrap hosts of the same mesh (redundancy): this one joins their DHT too. */
  peers?: BootstrapNode[]
}

export interface BootstrapHost {
  /** What every other host passes as --bootstrap. */
  bootstrap: BootstrapNode[]
  /** host:port of each persistent node. */
  nodes: BootstrapNode[]
  close (): Promise<void>
}

export const DEFAULT_PERSISTENT_NODES = 3

/**
 * The DHT an operator runs on a reachable host: a bootstrapper plus a few persistent nodes that
 * store announcements and answer the NAT probes of everyone else.
 */
export async function startBootstrapHost ({ host, port, nodes = DEFAULT_PERSISTENT_NODES, peers = [] }: BootstrapHostOptions): Promise<BootstrapHost> {
  const own = { host, port }
  const bootstrap = [own, ...peers]
  const bootstrapper = HyperDHT.bootstrapper(port, host, { bootstrap: peers } as HyperDHT.DHTOptions)
  const started: HyperDHT[] = [bootstrapper]
  try {
    await bootstrapper.ready()
    for (let i = 1; i <= nodes; i++) {
      const node = new HyperDHT({ bootstrap, ephemeral: false, firewalled: false, port: port + i, anyPort: false } as HyperDHT.DHTOptions)
      started.push(node)
      await node.fullyBootstrapped()
    }
  } catch (err) {
    for (const dht of started.reverse()) await dht.destroy({ force: true }).catch(() => {})
    throw err
  }
  return {
    bootstrap,
    nodes: started.slice(1).map(dht => ({ host, port: dht.address().port })),
    async close () {
      for (const dht of [...started].reverse()) await dht.destroy()
    }
  }
}
