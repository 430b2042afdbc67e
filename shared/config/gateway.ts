import { z } from 'zod'
import type { EnvOverrides } from './env.js'

/** The `gateway` section of config/default.json (owned by services/gateway). */
export const gatewaySection = z.strictObject({
  /** Workers tried for one request when they fail before the first token. */
  maxAttempts: z.number().int().min(1).max(10).default(3),
  /** Longest wait for a worker's first token (prompt processing on a big model takes a while). */
  workerFirstTokenTimeoutMs: z.number().int().min(100).default(120_000),
  /** Longest wait between two tokens: a worker silent this long is taken for dead. */
  workerIdleTimeoutMs: z.number().int().min(100).default(15_000),
  /** Records written per usage batch at most (group commit). */
  usageBatch: z.number().int().min(1).max(10_000).default(500),
  /** How often inference workers are looked up and probed. */
  discoveryIntervalMs: z.number().int().min(100).default(2_000),
  /** How often last-used times of keys are sent to the auth node: each send is a signed append that every replica of its bee fetches, so a minute, not seconds. */
  touchKeysIntervalMs: z.number().int().min(100).default(60_000),
  /** Requests wait here, per model, while no worker has a free slot. */
  queue: z.strictObject({
    /** Requests waiting per model at most; more are refused BUSY (and refunded). */
    maxPerModel: z.number().int().min(0).max(1_000_000).default(1_000),
    /** Longest wait for a worker slot; a request may ask for less. Then TIMEOUT (and refunded). */
    timeoutMs: z.number().int().min(100).max(3_600_000).default(60_000),
    /** Share of the dispatches each plan's users get while users compete (deficit round robin). */
    planWeights: z.record(z.string(), z.number().positive().max(1_000)).default({ premium: 4 }),
    /** A waiting stream is told its position this often (and first after this long). */
    positionIntervalMs: z.number().int().min(50).default(1_000)
  }).prefault({})
})

export type GatewayConfig = z.infer<typeof gatewaySection>

/** Environment variables that override keys of this section. */
export const gatewayEnv: EnvOverrides = {
  GATEWAY_MAX_ATTEMPTS: { path: 'gateway.maxAttempts', parse: 'number' },
  GATEWAY_WORKER_IDLE_TIMEOUT_MS: { path: 'gateway.workerIdleTimeoutMs', parse: 'number' },
  GATEWAY_WORKER_FIRST_TOKEN_TIMEOUT_MS: { path: 'gateway.workerFirstTokenTimeoutMs', parse: 'number' },
  GATEWAY_QUEUE_MAX_PER_MODEL: { path: 'gateway.queue.maxPerModel', parse: 'number' },
  GATEWAY_QUEUE_TIMEOUT_MS: { path: 'gateway.queue.timeoutMs', parse: 'number' }
}
