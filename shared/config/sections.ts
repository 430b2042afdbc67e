import { z } from 'zod'

/**
 * One schema per section of config/default.json. Each role owns its section; env vars that
 * override a key are listed beside it (ENV_OVERRIDES).
 */
export const networkSection = z.strictObject({
  name: z.string().min(1).max(64),
  secret: z.string().min(1).optional(),
  /** host:port of bootstrap nodes; empty means "the devnet written in the home dir". */
  bootstrap: z.array(z.string()).default([]),
  /** Use the public HyperDHT. Only ever on when named. */
  public: z.boolean().default(false)
})

export const authSection = z.looseObject({})
export const gatewaySection = z.looseObject({})
export const inferenceSection = z.looseObject({})
export const metricsSection = z.looseObject({})
export const webSection = z.looseObject({})
