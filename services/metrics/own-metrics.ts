import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import { METRIC_PREFIX } from '../../shared/metrics.js'

export type ScrapeFailure = 'timeout' | 'error' | 'parse' | 'too_large'

/**
 * The metrics node's own families. Their `node`/`role` labels name the scraped node, not the
 * metrics node: the merge keeps them as they are (see ScrapedSource.honorLabels).
 */
export interface ScrapeMetrics {
  errors: Counter<'role' | 'reason'>
  duration: Histogram<'role'>
  skippedLines: Counter<'role'>
  nodeUp: Gauge<'node' | 'role'>
}

export function scrapeMetrics (registry: Registry): ScrapeMetrics {
  const registers = [registry]
  return {
    errors: new Counter({ name: `${METRIC_PREFIX}scrape_errors_total`, help: 'Failed scrapes of mesh nodes, by role and reason (timeout, error, parse, too_large)', labelNames: ['role', 'reason'], registers }),
    duration: new Histogram({ name: `${METRIC_PREFIX}scrape_duration_seconds`, help: 'Time to scrape one mesh node', labelNames: ['role'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers }),
    skippedLines: new Counter({ name: `${METRIC_PREFIX}scrape_skipped_lines_total`, help: 'Lines of scraped text that did not parse and were left out', labelNames: ['role'], registers }),
    nodeUp: new Gauge({ name: `${METRIC_PREFIX}node_up`, help: 'Whether a known mesh node answers (1) or stopped answering (0)', labelNames: ['node', 'role'], registers })
  }
}
