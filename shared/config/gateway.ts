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
  /** How often last-used times of keys are sent to the auth node. */
  touchKeysIntervalMs: z.number().int().min(100).default(10_000)
})

export type GatewayConfig = z.infer<typeof gatewaySection>

/** Environment variables that override keys of this section. */
export const gatewayEnv: EnvOverrides = {
  GATEWAY_MAX_ATTEMPTS: { path: 'gateway.maxAttempts', parse: 'number' },
  GATEWAY_WORKER_IDLE_TIMEOUT_MS: { path: 'gateway.workerIdleTimeoutMs', parse: 'number' },
  GATEWAY_WORKER_FIRST_TOKEN_TIMEOUT_MS: { path: 'gateway.workerFirstTokenTimeoutMs', parse: 'number' }
}
