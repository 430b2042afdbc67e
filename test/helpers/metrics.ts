import type { MetricsConfig } from '../../shared/config/metrics.js'
import { createMetricsNode, type MetricsNode } from '../../services/metrics/role.js'
import type { TestMesh } from './mesh.js'

/** A metrics node on a test mesh, scraping fast, on a free port; closed at teardown. */
export async function startTestMetrics (mesh: TestMesh, overrides: Partial<MetricsConfig> = {}): Promise<MetricsNode> {
  const metrics = await createMetricsNode({
    dataDir: mesh.dir('metrics'),
    network: mesh.network,
    bootstrap: mesh.bootstrap,
    refreshIntervalMs: 300,
    config: { port: 0, scrapeIntervalMs: 200, scrapeTimeoutMs: 2_000, ...overrides }
  })
  mesh.closeLater(() => metrics.close())
  return metrics
}
