import type { RoleProgram } from '../../shared/runner.js'
import { createMetricsNode } from './index.js'

export const program: RoleProgram = {
  role: 'metrics',
  describe: 'scrape every node of the mesh and serve one Prometheus /metrics, plus systemHealth',
  options: cmd => cmd
    .option('--host <addr>', 'HTTP bind address (default 127.0.0.1); env METRICS_HOST')
    .option('--port <port>', 'HTTP port for /metrics, /health, /ready (default 9464, 0 = any); env METRICS_PORT')
    .option('--scrape-interval <ms>', 'how often to scrape every node; env METRICS_SCRAPE_INTERVAL_MS'),
  configFlags: flags => ({
    'metrics.host': flags.host,
    'metrics.port': flags.port === undefined ? undefined : Number(flags.port),
    'metrics.scrapeIntervalMs': flags.scrapeInterval === undefined ? undefined : Number(flags.scrapeInterval)
  }),
  async start ({ config, node }) {
    return createMetricsNode({
      ...node,
      ...config.metrics
    })
  }
}
