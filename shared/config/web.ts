import { z } from 'zod'
import type { EnvOverrides } from './env.js'

/** The `web` section of config/default.json (owned by services/web). */
export const webSection = z.strictObject({
  /** HTTP bind address; loopback unless the operator opens it. */
  host: z.string().min(1).default('127.0.0.1'),
  /** HTTP port; 0 picks a free one (tests). */
  port: z.number().int().min(0).max(65_535).default(3000),
  /** Longest wait for one RPC call to another node. */
  callTimeoutMs: z.number().int().min(50).max(120_000).default(10_000),
  /** Longest wait to find a node of a role before answering UNAVAILABLE. */
  discoveryTimeoutMs: z.number().int().min(50).max(120_000).default(5_000),
  /** Mark the session cookie Secure (only when served over HTTPS by a proxy in front). */
  secureCookies: z.boolean().default(false)
})
export type WebConfig = z.infer<typeof webSection>

/** Environment variables that override keys of this section. */
export const webEnv: EnvOverrides = {
  WEB_SERVICE_HOST: { path: 'web.host', parse: 'string' },
  WEB_SERVICE_PORT: { path: 'web.port', parse: 'number' },
  WEB_CALL_TIMEOUT_MS: { path: 'web.callTimeoutMs', parse: 'number' },
  WEB_SECURE_COOKIES: { path: 'web.secureCookies', parse: 'boolean' }
}
