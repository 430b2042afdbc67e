import { z } from 'zod'
import type { EnvOverrides } from './env.js'

/** The `gateway` section of config/default.json (owned by services/gateway). */
export const gatewaySection = z.looseObject({})

/** Environment variables that override keys of this section. */
export const gatewayEnv: EnvOverrides = {}
