import { createSocket } from 'node:dgram'
import HyperDHT from 'hyperdht'
import createTestnet from 'hyperdht/testnet.js'
import type { BootstrapNode } from './dht.js'

export interface LocalBootstrap {
  bootstrap: BootstrapNode[]
  close (): Promise<void>
}

export interface BootstrapNodesOptions {
  /** Address every node binds and is reached at (127.0.0.1 for a devnet). */
  host?: string
  /** The bootstrapper's UDP port; 0 picks a free one. */
  port?: number
  /** Persistent DHT nodes beside the bootstrapper (they hold announcements and answer lookups). */
  persistent?: number
  /** Ports of the persistent nodes (default: free ones). */
  persistentPorts?: number[]
  /** Other bootstrappers of the same mesh (`host:port`), e.g. the one on a second host. */
  peers?: BootstrapNode[]
}

export interface BootstrapNodes extends LocalBootstrap {
  /** Where each persistent node listens. */
  persistent: BootstrapNode[]
}

const DEFAULT_PERSISTENT = 3

/**
 * A small DHT: a bootstrapper plus persistent nodes. One persistent node is too small: lookups and
 * announces then hang on it and fail with "Too few nodes responded" on a busy machine, and NAT
 * types cannot be sampled. `hyperinfer node bootstrap` and the devnet both run this.
 */
export async function startBootstrapNodes (opts: BootstrapNodesOptions = {}): Promise<BootstrapNodes> {
  const host = opts.host ?? '127.0.0.1'
  const bootstrapper = HyperDHT.bootstrapper(opts.port || await freeUdpPort(host), host, { bootstrap: opts.peers ?? [] } as HyperDHT.DHTOptions)
  await bootstrapper.ready()
  const bootstrap = [{ host, port: bootstrapper.address().port }]
  const nodes: HyperDHT[] = []
  try {
    const count = opts.persistent ?? DEFAULT_PERSISTENT
    for (let i = 0; i < count; i++) {
      nodes.push(new HyperDHT({
        bootstrap: [...bootstrap, ...(opts.peers ?? [])],
        host,
        port: opts.persistentPorts?.[i] ?? 0,
        // A port the operator opened in a firewall must be the one taken, not a neighbour.
        anyPort: opts.persistentPorts?.[i] === undefined,
        ephemeral: false,
        firewalled: false
      } as HyperDHT.DHTOptions))
    }
    await Promise.all(nodes.map(node => node.fullyBootstrapped()))
  } catch (err) {
    await Promise.allSettled(nodes.map(node => node.destroy()))
    await bootstrapper.destroy()
    throw err
  }
  return {
    bootstrap,
    persistent: nodes.map(node => ({ host, port: node.address().port })),
    async close () {
      await Promise.allSettled(nodes.map(node => node.destroy()))
      await bootstrapper.destroy()
    }
  }
}

/** The devnet's DHT on 127.0.0.1: the bootstrapper plus 3 persistent nodes. Port 0 picks a free port. */
export async function startLocalBootstrap (port = 0, host = '127.0.0.1'): Promise<LocalBootstrap> {
  return startBootstrapNodes({ port, host })
}

/** A small in-process DHT on 127.0.0.1 for tests. */
export async function startTestnet (size = 3): Promise<LocalBootstrap> {
  const testnet = await createTestnet(size, { host: '127.0.0.1' })
  return { bootstrap: testnet.bootstrap, close: () => testnet.destroy() }
}

export function freeUdpPort (host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4')
    socket.once('error', reject)
    socket.bind(0, host, () => {
      const { port } = socket.address()
      socket.close(() => { resolve(port) })
    })
  })
}
