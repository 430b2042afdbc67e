import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export const METRIC_PREFIX = 'ai_platform_'

const LATENCY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120]

/** The platform's metric families on one node's registry. Labels never carry user ids or keys. */
export interface PlatformMetrics {
  requests: Counter<'service' | 'method' | 'status'>
  requestDuration: Histogram<'service' | 'method' | 'model'>
  timeToFirstToken: Histogram<'model'>
  tokens: Counter<'model' | 'kind'>
  rateLimitViolations: Counter<'plan' | 'kind'>
  activeUsers: Gauge<'time_window'>
  queueDepth: Gauge<'model'>
  workers: Gauge<'model' | 'state'>
  /** The gateway's admission queue (requests waiting for a worker slot). */
  gatewayQueueDepth: Gauge<'model'>
  gatewayQueueWait: Histogram<'model'>
  refunds: Counter<'reason'>
  cacheHits: Counter<string>
  cacheMisses: Counter<string>
}

const byRegistry = new WeakMap<Registry, PlatformMetrics>()

export function createRegistry (): Registry {
  const registry = new Registry()
  // prom-client samples event-loop lag with a 10 ms timer by default: ~1% of a core per idle process
  // here (measured), more than everything else an idle node does. Two samples a second still catch stalls.
  collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 500 })
  return registry
}

export function platformMetrics (registry: Registry): PlatformMetrics {
  let metrics = byRegistry.get(registry)
  if (metrics) return metrics
  const registers = [registry]
  metrics = {
    requests: new Counter({ name: `${METRIC_PREFIX}requests_total`, help: 'RPC and HTTP requests handled, by service, method and status code', labelNames: ['service', 'method', 'status'], registers }),
    requestDuration: new Histogram({ name: `${METRIC_PREFIX}request_duration_seconds`, help: 'Time to answer a request', labelNames: ['service', 'method', 'model'], buckets: LATENCY_BUCKETS, registers }),
    timeToFirstToken: new Histogram({ name: `${METRIC_PREFIX}time_to_first_token_seconds`, help: 'Time from request to the first streamed token', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers }),
    tokens: new Counter({ name: `${METRIC_PREFIX}tokens_total`, help: 'Tokens processed, by model and kind (prompt or completion)', labelNames: ['model', 'kind'], registers }),
    rateLimitViolations: new Counter({ name: `${METRIC_PREFIX}rate_limit_violations_total`, help: 'Requests refused by a rate limit or quota', labelNames: ['plan', 'kind'], registers }),
    activeUsers: new Gauge({ name: `${METRIC_PREFIX}active_users`, help: 'Distinct users with at least one request in the window', labelNames: ['time_window'], registers }),
    queueDepth: new Gauge({ name: `${METRIC_PREFIX}inference_queue_depth`, help: 'Inference requests waiting or running, by model', labelNames: ['model'], registers }),
    workers: new Gauge({ name: `${METRIC_PREFIX}workers`, help: 'Inference workers known to this node, by model and state', labelNames: ['model', 'state'], registers }),
    gatewayQueueDepth: new Gauge({ name: `${METRIC_PREFIX}queue_depth`, help: 'Requests waiting at the gateway for a worker slot, by model', labelNames: ['model'], registers }),
    gatewayQueueWait: new Histogram({ name: `${METRIC_PREFIX}queue_wait_seconds`, help: 'Time requests waited at the gateway for a worker slot, by model', labelNames: ['model'], buckets: LATENCY_BUCKETS, registers }),
    refunds: new Counter({ name: `${METRIC_PREFIX}refunds_total`, help: 'Requests no worker accepted, refunded (request slot and token reservation), by reason', labelNames: ['reason'], registers }),
    cacheHits: new Counter({ name: `${METRIC_PREFIX}cache_hits_total`, help: 'Responses served from the response cache', registers }),
    cacheMisses: new Counter({ name: `${METRIC_PREFIX}cache_misses_total`, help: 'Cacheable requests that missed the response cache', registers })
  }
  byRegistry.set(registry, metrics)
  return metrics
}
