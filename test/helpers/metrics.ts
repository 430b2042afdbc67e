import { createMetricsNode, type MetricsNode, type MetricsNodeOptions } from '../../services/metrics/index.js'
import type { TestMesh } from './mesh.js'

/** A metrics node on a test mesh, scraping fast, on a free port; closed at teardown. */
export async function startTestMetrics (mesh: TestMesh, overrides: Partial<MetricsNodeOptions> = {}): Promise<MetricsNode> {
  const metrics = await createMetricsNode({
    dataDir: mesh.dir('metrics'),
    network: mesh.network,
    bootstrap: mesh.bootstrap,
    port: 0,
    scrapeIntervalMs: 200,
    scrapeTimeoutMs: 2_000,
    refreshIntervalMs: 300,
    ...overrides
  })
  mesh.closeLater(() => metrics.close())
  return metrics
}
