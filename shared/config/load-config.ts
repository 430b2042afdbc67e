import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { z } from 'zod'
import { HyperinferError } from '../errors.js'
import { PACKAGE_ROOT } from '../paths.js'
import type { EnvOverrides } from './env.js'
import { authEnv, authSection, gatewayEnv, gatewaySection, inferenceEnv, inferenceSection, metricsEnv, metricsSection, networkEnv, networkSection, webEnv, webSection } from './sections.js'

/** Environment variables that override config keys (flags override these in turn). */
export const ENV_OVERRIDES: EnvOverrides = { ...networkEnv, ...authEnv, ...gatewayEnv, ...inferenceEnv, ...metricsEnv, ...webEnv }

export const configSchema = z.strictObject({
  home: z.string().min(1),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  network: networkSection,
  auth: authSection,
  gateway: gatewaySection,
  inference: inferenceSection,
  metrics: metricsSection,
  web: webSection
})

export type Config = z.infer<typeof configSchema>

export const DEFAULT_CONFIG_DIR = join(PACKAGE_ROOT, 'config')

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv
  /** Dotted paths set by command flags, e.g. { 'network.name': 'lab' }: they win over env. */
  flags?: Record<string, unknown>
  configDir?: string
}

/** config/default.json, then config/<env>.json, then env vars, then flags; validated. */
export function loadConfig ({ env = process.env, flags = {}, configDir = DEFAULT_CONFIG_DIR }: LoadConfigOptions = {}): Config {
  const merged = readJson(join(configDir, 'default.json'))
  const envName = env.HYPERINFER_ENV ?? env.NODE_ENV
  if (envName && existsSync(join(configDir, `${envName}.json`))) deepMerge(merged, readJson(join(configDir, `${envName}.json`)))

  merged.home = resolve(env.HYPERINFER_HOME ?? (typeof merged.home === 'string' ? merged.home : '.hyperinfer'))
  for (const [name, { path, parse }] of Object.entries(ENV_OVERRIDES)) {
    const raw = env[name]
    if (raw === undefined || raw === '') continue
    setPath(merged, path, parseEnv(name, raw, parse))
  }
  for (const [path, value] of Object.entries(flags)) {
    if (value !== undefined) setPath(merged, path, value)
  }
  if (typeof flags.home === 'string') merged.home = resolve(flags.home)

  const parsed = configSchema.safeParse(merged)
  if (!parsed.success) {
    const problems = parsed.error.issues.map(issue => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    throw new HyperinferError('INVALID_ARGUMENT', `invalid configuration: ${problems.join('; ')}`, { details: { problems } })
  }
  return parsed.data
}

function readJson (file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>
  } catch (err) {
    throw new HyperinferError('INVALID_ARGUMENT', `cannot read config file ${file}: ${(err as Error).message}`)
  }
}

function parseEnv (name: string, raw: string, kind: 'string' | 'number' | 'list' | 'boolean'): unknown {
  if (kind === 'string') return raw
  if (kind === 'list') return raw.split(',').map(s => s.trim()).filter(Boolean)
  if (kind === 'boolean') {
    if (/^(1|true|yes|on)$/i.test(raw)) return true
    if (/^(0|false|no|off)$/i.test(raw)) return false
    throw new HyperinferError('INVALID_ARGUMENT', `invalid configuration: env ${name}="${raw}" is not a boolean (true/false)`)
  }
  const n = Number(raw)
  if (!Number.isFinite(n)) throw new HyperinferError('INVALID_ARGUMENT', `invalid configuration: env ${name}="${raw}" is not a number`)
  return n
}

function isPlainObject (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

function deepMerge (target: Record<string, unknown>, source: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const current = target[key]
    if (isPlainObject(current) && isPlainObject(value)) deepMerge(current, value)
    else target[key] = value
  }
}

function setPath (target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.')
  let node = target
  for (const part of parts.slice(0, -1)) {
    if (!isPlainObject(node[part])) node[part] = {}
    node = node[part] as Record<string, unknown>
  }
  node[parts[parts.length - 1]] = value
}
