import { z } from 'zod'
import type { EnvOverrides } from './env.js'

/** The `web` section of config/default.json (owned by services/web). */
export const webSection = z.looseObject({})

/** Environment variables that override keys of this section. */
export const webEnv: EnvOverrides = {}
