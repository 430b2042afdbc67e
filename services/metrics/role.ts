import { followRegistry } from '../../shared/accounts/node-access.js'
import type { MetricsHealthDetails } from '../../shared/schemas/health-details.js'
import { defineRole, type StartedRole, type StartOptions } from '../../shared/role/define-role.js'
import { startRole } from '../../shared/role/start-role.js'
import type { SystemHealthResponse } from '../../shared/schemas/metrics.js'
import { metricsApi } from './api.js'
import { Collector } from './collector.js'
import { startMetricsHttp } from './http.js'

export interface MetricsHandles {
  readonly collector: Collector
  /** Base URL of the HTTP server, e.g. http://127.0.0.1:9464 */
  readonly url: string
  systemHealth (): SystemHealthResponse
}

const numberOrUndefined = (value: unknown): number | undefined => value === undefined ? undefined : Number(value)

/** A metrics node: scrapes every other node of the mesh and serves the mesh's metrics over HTTP. */
export const metricsRole = defineRole<'metrics', MetricsHandles>({
  role: 'metrics',
  describe: 'scrape every node of the mesh and serve one Prometheus /metrics, plus systemHealth',
  configSection: 'metrics',
  flags: {
    declare: cmd => cmd
      .option('--host <addr>', 'HTTP bind address (default 127.0.0.1); env METRICS_HOST')
      .option('--port <port>', 'HTTP port for /metrics, /health, /ready (default 9464, 0 = any); env METRICS_PORT')
      .option('--scrape-interval <ms>', 'how often to scrape every node; env METRICS_SCRAPE_INTERVAL_MS'),
    toConfig: flags => ({
      'metrics.host': flags.host,
      'metrics.port': numberOrUndefined(flags.port),
      'metrics.scrapeIntervalMs': numberOrUndefined(flags.scrapeInterval)
    })
  },
  async build (node, config, options) {
    const registry = options.authKey ? followRegistry(node, options.authKey) : null
    const collector = new Collector(node, config)
    try {
      const http = await startMetricsHttp({
        exposition: () => collector.exposition(),
        health: () => node.health(),
        get ready () { return collector.ready }
      }, { host: config.host, port: config.port })
      collector.start()
      node.log.info({ url: `${http.url}/metrics` }, `metrics: serving ${http.url}/metrics`)
      return {
        methods: metricsApi(collector),
        health: () => ({ details: { ready: collector.ready, nodesKnown: collector.roster.all().length } satisfies MetricsHealthDetails }),
        handles: { collector, url: http.url, systemHealth: () => collector.systemHealth() } satisfies MetricsHandles,
        async close () {
          await collector.stop()
          await http.close()
          registry?.close()
        }
      }
    } catch (err) {
      registry?.close()
      throw err
    }
  }
})

export type MetricsNode = StartedRole<MetricsHandles>

/** A metrics node in this process (tests). */
export function createMetricsNode (options: StartOptions<'metrics'>): Promise<MetricsNode> {
  return startRole(metricsRole, options)
}
