import { z } from 'zod'
import type { EnvOverrides } from './env.js'

/** The `metrics` section of config/default.json (owned by services/metrics). */
export const metricsSection = z.strictObject({
  /** HTTP bind address of /metrics, /health and /ready; loopback unless the operator opens it. */
  host: z.string().min(1).default('127.0.0.1'),
  /** HTTP port; 0 picks a free one (tests). */
  port: z.number().int().min(0).max(65_535).default(9464),
  // Every scrape serialises each node's registry and parses it here: at 5 s that was most of an idle mesh's CPU.
  scrapeIntervalMs: z.number().int().min(100).max(600_000).default(15_000),
  /** Longest wait for one node's scrape; slower nodes count as a scrape error. */
  scrapeTimeoutMs: z.number().int().min(50).max(60_000).default(2_000),
  /** How long a node that stopped answering stays listed as down. */
  downRetentionMs: z.number().int().min(0).max(7 * 24 * 3_600_000).default(10 * 60_000),
  /** Scraped text larger than this is refused (a misbehaving node must not exhaust memory). */
  maxScrapeBytes: z.number().int().min(1024).max(16 * 1024 * 1024).default(4 * 1024 * 1024)
})
export type MetricsConfig = z.infer<typeof metricsSection>

/** Environment variables that override keys of this section. */
export const metricsEnv: EnvOverrides = {
  METRICS_HOST: { path: 'metrics.host', parse: 'string' },
  METRICS_PORT: { path: 'metrics.port', parse: 'number' },
  METRICS_SCRAPE_INTERVAL_MS: { path: 'metrics.scrapeIntervalMs', parse: 'number' },
  METRICS_SCRAPE_TIMEOUT_MS: { path: 'metrics.scrapeTimeoutMs', parse: 'number' }
}
