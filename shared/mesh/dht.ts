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
  return new HyperDHT({
    keyPair: opts.keyPair,
    port: opts.port,
    bootstrap,
    host: opts.host ?? (loopback ? '127.0.0.1' : undefined),
    ephemeral: opts.ephemeral ?? true,
    ...(loopback ? LOOPBACK_REACHABLE : {})
  })
}

/**
 * On loopback every node is reachable, and saying so avoids a race in hyperdht 6.33-6.34
 * (holepunchto/hyperdht#304), the "first-dial stall". A firewalled server answers a handshake with
 * a holepunch offer; a client at the server's own address then races a LAN shortcut (ping the
 * server's local address, connect there) against a holepunch round through a relay (lib/connect.js
 * holepunch()). The round reaches the server's puncher, whose NAT analysis never settles on
 * loopback, so the server aborts it, and that abort destroys the raw stream the shortcut is about
 * to connect to (lib/server.js _onpeerholepunch -> _abort -> onabort -> rawStream.destroy()). The
 * client's packets then match no stream and it waits out UDX's ~13 s timeout (ETIMEDOUT); 14 of 20
 * fresh processes stalled so in scripts/repro/first-dial.ts. An unfirewalled server answers as
 * reachable (FIREWALL.OPEN), the client connects straight to it, and no puncher is ever made.
 */
const LOOPBACK_REACHABLE = { firewalled: false } as const

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
