import { z } from 'zod'
import type { EnvOverrides } from './env.js'

export { authSection, authEnv } from './auth.js'
export { gatewaySection, gatewayEnv } from './gateway.js'
export { inferenceSection, inferenceEnv } from './inference.js'
export { metricsSection, metricsEnv } from './metrics.js'
export { webSection, webEnv } from './web.js'

export const networkSection = z.strictObject({
  name: z.string().min(1).max(64),
  secret: z.string().min(1).optional(),
  /** host:port of bootstrap nodes; empty means "the devnet written in the home dir". */
  bootstrap: z.array(z.string()).default([]),
  /** Use the public HyperDHT. Only ever on when named. */
  public: z.boolean().default(false)
})

export const networkEnv: EnvOverrides = {
  LOG_LEVEL: { path: 'logLevel', parse: 'string' },
  HYPERINFER_NETWORK: { path: 'network.name', parse: 'string' },
  HYPERINFER_NETWORK_SECRET: { path: 'network.secret', parse: 'string' },
  HYPERINFER_BOOTSTRAP: { path: 'network.bootstrap', parse: 'list' },
  HYPERINFER_PUBLIC_NETWORK: { path: 'network.public', parse: 'boolean' }
}
