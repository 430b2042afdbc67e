import { startBootstrapNodes } from './bootstrap.js'
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
 * The DHT an operator runs on a reachable host: a bootstrapper plus a few persistent nodes on the
 * next ports (port + 1 ...), so the ports to open are known in advance.
 */
export async function startBootstrapHost ({ host, port, nodes = DEFAULT_PERSISTENT_NODES, peers = [] }: BootstrapHostOptions): Promise<BootstrapHost> {
  const persistentPorts = Array.from({ length: nodes }, (_, i) => port + i + 1)
  const started = await startBootstrapNodes({ host, port, persistent: nodes, persistentPorts, peers })
  return { bootstrap: [...started.bootstrap, ...peers], nodes: started.persistent, close: () => started.close() }
}
