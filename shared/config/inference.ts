import { z } from 'zod'
import type { EnvOverrides } from './env.js'
import { cpuList } from '../role/cpu-affinity.js'

const upstreamName = z.string().min(1).max(256)
const backendName = z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9._-]{0,63}$/)

/** Per-backend limits; absent values fall back to the section's own. */
const limits = {
  concurrency: z.number().int().min(1).max(4096).optional(),
  queueSize: z.number().int().min(0).max(10_000).optional(),
  /** Default and upper bound of maxTokens per request. */
  maxTokens: z.number().int().min(1).max(32_768).optional()
}

/** Upstream HTTP backends: time to connect and get the first byte, and the longest gap between two chunks. */
const timeouts = z.strictObject({
  firstByteMs: z.number().int().min(1).default(60_000),
  idleMs: z.number().int().min(1).default(30_000)
})

export const llamaBackendConfig = z.strictObject({
  type: z.literal('llama'),
  name: backendName.default('local'),
  /** A GGUF file ... */
  modelPath: z.string().min(1).optional(),
  /** ... or a directory whose *.gguf files are all served. */
  modelsDir: z.string().min(1).optional(),
  /** Restrict to these model names (file base names without .gguf). */
  models: z.array(upstreamName).optional(),
  /** CPU threads per context: the library default crawls on small machines. */
  threads: z.number().int().min(1).max(256).default(1),
  contextSize: z.number().int().min(64).max(1 << 20).default(2048),
  gpu: z.boolean().default(false),
  ...limits
}).refine(b => (b.modelPath === undefined) !== (b.modelsDir === undefined), 'a llama backend needs exactly one of modelPath or modelsDir')

export const ollamaBackendConfig = z.strictObject({
  type: z.literal('ollama'),
  name: backendName.default('ollama'),
  url: z.url().default('http://127.0.0.1:11434'),
  /** Upstream names to serve; absent: every model of /api/tags. */
  models: z.array(upstreamName).optional(),
  /** Prefix the mesh sees before each upstream name, e.g. `ollama/`. */
  prefix: z.string().max(64).default(''),
  timeouts: timeouts.optional(),
  ...limits
})

export const openaiBackendConfig = z.strictObject({
  type: z.literal('openai'),
  name: backendName.default('openai'),
  baseURL: z.url(),
  /** The environment variable holding the API key (never the key itself in config). */
  apiKeyEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).default('OPENAI_API_KEY'),
  /** Upstream names to serve; absent or empty: every model of /v1/models. */
  models: z.array(upstreamName).optional(),
  prefix: z.string().max(64).default(''),
  timeouts: timeouts.optional(),
  ...limits
})

export const backendConfig = z.union([llamaBackendConfig, ollamaBackendConfig, openaiBackendConfig])
export type LlamaBackendConfig = z.infer<typeof llamaBackendConfig>
export type OllamaBackendConfig = z.infer<typeof ollamaBackendConfig>
export type OpenAIBackendConfig = z.infer<typeof openaiBackendConfig>
export type BackendConfig = z.infer<typeof backendConfig>

/**
 * The `inference` section of config/default.json (owned by services/inference).
 * `backends` lists what a worker serves; the shorthand keys (`llamaModel`, `ollamaUrl`, `openaiBaseUrl`
 * + `openaiModels`), set by env or flags, each add one backend. With nothing configured the worker
 * serves the bundled stories260K model when it is present.
 */
export const inferenceSection = z.strictObject({
  backends: z.array(backendConfig).default([]),
  llamaModel: z.string().min(1).optional(),
  ollamaUrl: z.url().optional(),
  openaiBaseUrl: z.url().optional(),
  openaiModels: z.array(upstreamName).optional(),
  llamaThreads: z.number().int().min(1).max(256).default(1),
  /** CPUs the worker's process is pinned to (Linux), e.g. `3` or `2-3`; unset, the kernel places its threads. */
  cpus: cpuList.optional(),
  /** Generations running at once per backend. */
  concurrency: z.number().int().min(1).max(4096).default(1),
  /** Requests waiting per backend beyond those running; more are answered BUSY. */
  queueSize: z.number().int().min(0).max(10_000).default(8),
  maxTokens: z.number().int().min(1).max(32_768).default(512),
  timeouts: timeouts.default({ firstByteMs: 60_000, idleMs: 30_000 }),
  /** Exact-match cache of deterministic requests (temperature 0 or a fixed seed). */
  cache: z.strictObject({
    enabled: z.boolean().default(true),
    maxEntries: z.number().int().min(1).default(1_000),
    maxBytes: z.number().int().min(1024).default(32 * 1024 * 1024),
    ttlMs: z.number().int().min(1).default(10 * 60_000)
  }).default({ enabled: true, maxEntries: 1_000, maxBytes: 32 * 1024 * 1024, ttlMs: 10 * 60_000 })
})

export type InferenceConfig = z.infer<typeof inferenceSection>

/** Environment variables that override keys of this section. */
export const inferenceEnv: EnvOverrides = {
  INFERENCE_LLAMA_MODEL: { path: 'inference.llamaModel', parse: 'string' },
  INFERENCE_LLAMA_THREADS: { path: 'inference.llamaThreads', parse: 'number' },
  INFERENCE_CPUS: { path: 'inference.cpus', parse: 'string' },
  OLLAMA_URL: { path: 'inference.ollamaUrl', parse: 'string' },
  OPENAI_BASE_URL: { path: 'inference.openaiBaseUrl', parse: 'string' },
  OPENAI_MODELS: { path: 'inference.openaiModels', parse: 'list' },
  INFERENCE_CONCURRENCY: { path: 'inference.concurrency', parse: 'number' },
  INFERENCE_QUEUE_SIZE: { path: 'inference.queueSize', parse: 'number' },
  INFERENCE_MAX_TOKENS: { path: 'inference.maxTokens', parse: 'number' }
}
