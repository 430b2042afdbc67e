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
  public: z.boolean().default(false),
  /**
   * The auth node's public key (hex): the root of trust. Nodes and clients take the accounts bee
   * and the list of approved nodes from this node alone. On the devnet it is read from devnet.json.
   */
  authKey: z.string().regex(/^[0-9a-f]{64}$/, 'network.authKey must be 64 hex characters (the auth node\'s public key)').optional()
})

export const networkEnv: EnvOverrides = {
  LOG_LEVEL: { path: 'logLevel', parse: 'string' },
  HYPERINFER_NETWORK: { path: 'network.name', parse: 'string' },
  HYPERINFER_NETWORK_SECRET: { path: 'network.secret', parse: 'string' },
  HYPERINFER_BOOTSTRAP: { path: 'network.bootstrap', parse: 'list' },
  HYPERINFER_PUBLIC_NETWORK: { path: 'network.public', parse: 'boolean' },
  HYPERINFER_AUTH_KEY: { path: 'network.authKey', parse: 'string' }
}
