import { z } from 'zod'
import type { EnvOverrides } from './env.js'

/** The `auth` section of config/default.json (owned by services/auth). */
export const authSection = z.looseObject({})

/** Environment variables that override keys of this section. */
export const authEnv: EnvOverrides = {}
