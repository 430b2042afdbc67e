import RPC from '@hyperswarm/rpc'
import HyperDHT from 'hyperdht'
import { HyperinferError } from '../errors.js'

export interface BootstrapNode { host: string; port: number }

export type DhtOptions = {
  keyPair?: HyperDHT.KeyPair
  port?: number
  /** Interface to bind; defaults to 127.0.0.1 when every bootstrap node is on loopback. */
  host?: string
  /**
   * Whether this node stays out of other nodes' routing tables (default true). hyperdht's default
   * is adaptive: a reachable node turns persistent after ~20 minutes up (240 ticks of 5 s), takes a
   * new routing id and starts storing other nodes' announcements. A role process that does so
   * carries the mesh's records and loses them with every restart or busy spell — how long-lived
   * meshes came to lose their peers. Only the bootstrap's persistent nodes serve the DHT.
   */
  ephemeral?: boolean
} & (
  | { network?: 'local'; bootstrap: (BootstrapNode | string)[] }
  | { network: 'public'; bootstrap?: undefined }
)

/**
 * The only place a HyperDHT is built. hyperdht falls back to the public bootstrap servers
 * when `bootstrap` is missing, so a missing list is refused unless `network: 'public'` is named.
 */
export function createDht (options: DhtOptions): HyperDHT {
  const opts = options as Partial<DhtOptions> | undefined
  if (opts?.network === 'public') {
    return new HyperDHT({ keyPair: opts.keyPair, port: opts.port, ephemeral: opts.ephemeral ?? true })
  }
  if (!opts || !Array.isArray(opts.bootstrap)) {
    throw new HyperinferError('INVALID_ARGUMENT',
      'refusing to build a DHT without an explicit bootstrap list: pass bootstrap: [{ host: "127.0.0.1", port }] ' +
      '(start one with `npm start` or scripts/devnet), or name network: "public" to use the public HyperDHT')
  }
  const bootstrap = opts.bootstrap.map(parseBootstrapNode)
  const loopback = bootstrap.length > 0 && bootstrap.every(isLoopback)
  // hyperdht is pinned to 6.32.0 (package.json overrides): 6.33-6.34 have a same-host race
  // (holepunchto/hyperdht#304) that stalled ~13 s a fresh process's first dial to a node on its own
  // host (scripts/repro/first-dial.ts: 14 of 20 on 6.34.0, 0 of 20 on 6.32.0). firewalled: false on
  // loopback also ended it, but then a worker SIGKILLed and restarted with the same key was not
  // routed again (test/gateway-failover).
  return new HyperDHT({
    keyPair: opts.keyPair,
    port: opts.port,
    bootstrap,
    host: opts.host ?? (loopback ? '127.0.0.1' : undefined),
    ephemeral: opts.ephemeral ?? true
  })
}

export function parseBootstrapNode (node: BootstrapNode | string): BootstrapNode {
  if (typeof node !== 'string') return { host: node.host, port: node.port }
  const at = node.lastIndexOf(':')
  const port = Number(node.slice(at + 1))
  if (at <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new HyperinferError('INVALID_ARGUMENT', `bootstrap node "${node}" is not host:port`)
  }
  return { host: node.slice(0, at), port }
}

export function formatBootstrap (nodes: BootstrapNode[]): string[] {
  return nodes.map(n => `${n.host}:${n.port}`)
}

/** A mesh whose bootstrap is on loopback lives on loopback: bind there too. */
function isLoopback (node: BootstrapNode): boolean {
  return node.host === 'localhost' || node.host.startsWith('127.') || node.host === '::1'
}

/** An RPC instance always on a DHT from createDht: `new RPC()` without one would build a public DHT. */
export function createRpc (dht: HyperDHT, keyPair?: HyperDHT.KeyPair): RPC {
  return new RPC({ dht, keyPair })
}
