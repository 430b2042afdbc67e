import { z } from 'zod'
import type { EnvOverrides } from './env.js'

/** The `metrics` section of config/default.json (owned by services/metrics). */
export const metricsSection = z.looseObject({})

/** Environment variables that override keys of this section. */
export const metricsEnv: EnvOverrides = {}
