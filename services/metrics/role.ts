import type { Logger } from '../../shared/log.js'
import type { BootstrapNode } from '../../shared/mesh/dht.js'
import { accessFor, followRegistry, type FollowedRegistry } from '../../shared/accounts/node-access.js'
import { MeshNode } from '../../shared/mesh/mesh-node.js'
import type { NetworkId } from '../../shared/mesh/topic.js'
import type { SystemHealthResponse } from '../../shared/schemas/metrics.js'
import { metricsApi } from './api.js'
import { Collector, type CollectorOptions } from './collector.js'
import { startMetricsHttp, type MetricsHttp } from './http.js'

export interface MetricsNodeOptions extends Partial<CollectorOptions> {
  /** The pinned auth node (network.authKey): without it the node checks no caller. */
  authKey?: Buffer
  dataDir: string
  network: NetworkId
  bootstrap?: BootstrapNode[]
  publicNetwork?: boolean
  log?: Logger
  /** HTTP bind address; loopback by default. */
  host?: string
  /** HTTP port; 0 picks a free one. */
  port?: number
  /** How often discovery looks for nodes and probes them. */
  refreshIntervalMs?: number
}

export interface MetricsNode {
  readonly node: MeshNode
  readonly collector: Collector
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:9464 */
  readonly url: string
  systemHealth (): SystemHealthResponse
  close (): Promise<void>
}

export const METRICS_DEFAULTS: CollectorOptions & { host: string, port: number } = {
  host: '127.0.0.1',
  port: 9464,
  scrapeIntervalMs: 15_000,
  scrapeTimeoutMs: 2_000,
  downRetentionMs: 10 * 60_000,
  maxScrapeBytes: 4 * 1024 * 1024
}

/** A metrics node: a mesh node that scrapes every other node and serves the mesh's metrics over HTTP. */
export async function createMetricsNode (options: MetricsNodeOptions): Promise<MetricsNode> {
  const opts = { ...METRICS_DEFAULTS, ...withoutUndefined(options) }
  let collector: Collector | null = null
  const node = new MeshNode({
    role: 'metrics',
    access: accessFor(options.authKey),
    authKey: options.authKey,
    dataDir: options.dataDir,
    network: options.network,
    bootstrap: opts.bootstrap,
    publicNetwork: opts.publicNetwork,
    log: opts.log,
    refreshIntervalMs: opts.refreshIntervalMs,
    healthCheck: () => ({ details: { ready: collector?.ready ?? false, nodesKnown: collector?.roster.all().length ?? 0 } })
  })
  await node.open()
  const registry: FollowedRegistry | null = options.authKey ? followRegistry(node, options.authKey) : null
  collector = new Collector(node, opts)
  node.serve(metricsApi(collector))
  let http: MetricsHttp
  try {
    http = await startMetricsHttp({
      exposition: () => collector.exposition(),
      health: () => node.health(),
      get ready () { return collector.ready }
    }, { host: opts.host, port: opts.port })
  } catch (err) {
    registry?.close()
    await node.close()
    throw err
  }
  collector.start()
  node.log.info({ url: `${http.url}/metrics` }, `metrics: serving ${http.url}/metrics`)
  let closing: Promise<void> | null = null
  const live = collector
  return {
    node,
    collector: live,
    url: http.url,
    systemHealth: () => live.systemHealth(),
    close () {
      closing ??= (async () => {
        await live.stop()
        await http.close()
        registry?.close()
        await node.close()
      })()
      return closing
    }
  }
}

function withoutUndefined<T extends object> (value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>
}
