import { z } from 'zod'
import type { EnvOverrides } from './env.js'

/** The `inference` section of config/default.json (owned by services/inference). */
export const inferenceSection = z.looseObject({})

/** Environment variables that override keys of this section. */
export const inferenceEnv: EnvOverrides = {}
