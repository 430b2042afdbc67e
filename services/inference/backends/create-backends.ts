import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { BackendConfig, InferenceConfig } from '../../../shared/config/inference.js'
import { HyperinferError } from '../../../shared/errors.js'
import { PACKAGE_ROOT } from '../../../shared/paths.js'
import type { Logger } from '../../../shared/log.js'
import type { BackendSlot } from '../worker.js'

/** The model shipped next to the checkout (`../shared/models/` from the repository root). */
export const BUNDLED_MODEL = join(PACKAGE_ROOT, '..', 'shared', 'models', 'stories260K.gguf')

/**
 * Every backend of the section: `backends` plus one per shorthand key (llamaModel, ollamaUrl,
 * openaiBaseUrl). With none at all, the bundled model when it exists.
 */
export function backendConfigs (config: InferenceConfig): BackendConfig[] {
  const list: BackendConfig[] = [...config.backends]
  const taken = new Set(list.map(b => b.name))
  const add = (b: BackendConfig): void => {
    if (taken.has(b.name)) throw new HyperinferError('INVALID_ARGUMENT', `invalid configuration: two inference backends are named "${b.name}"`)
    taken.add(b.name)
    list.push(b)
  }
  if (config.llamaModel !== undefined) {
    const isDir = !config.llamaModel.toLowerCase().endsWith('.gguf') && existsSync(config.llamaModel)
    add({ type: 'llama', name: 'local', threads: config.llamaThreads, contextSize: 2048, gpu: false, ...(isDir ? { modelsDir: config.llamaModel } : { modelPath: config.llamaModel }) })
  }
  if (config.ollamaUrl !== undefined) add({ type: 'ollama', name: 'ollama', url: config.ollamaUrl, prefix: '' })
  if (config.openaiBaseUrl !== undefined) {
    add({ type: 'openai', name: 'openai', baseURL: config.openaiBaseUrl, apiKeyEnv: 'OPENAI_API_KEY', prefix: '', models: config.openaiModels })
  }
  if (list.length === 0) {
    if (!existsSync(BUNDLED_MODEL)) {
      throw new HyperinferError('INVALID_ARGUMENT', 'no inference backend configured: pass --llama-model <file.gguf>, --ollama-url <url> or ' +
        '--openai-base-url <url> --openai-model <name>, or list backends in the "inference" section of the config')
    }
    list.push({ type: 'llama', name: 'local', modelPath: BUNDLED_MODEL, threads: config.llamaThreads, contextSize: 2048, gpu: false })
  }
  return list
}

/** Each backend's client library (node-llama-cpp, ollama, openai) is loaded only by workers that configure one. */
export async function createBackendSlots (config: InferenceConfig, log: Logger, env: NodeJS.ProcessEnv = process.env): Promise<BackendSlot[]> {
  return Promise.all(backendConfigs(config).map(async (b): Promise<BackendSlot> => {
    const concurrency = b.concurrency ?? config.concurrency
    const limits = { concurrency, queueSize: b.queueSize ?? config.queueSize, maxTokens: b.maxTokens ?? config.maxTokens }
    switch (b.type) {
      case 'llama': {
        const { LlamaBackend } = await import('./llama.js')
        return { ...limits, prefix: '', backend: new LlamaBackend({ config: b, concurrency, log }) }
      }
      case 'ollama': {
        const { OllamaBackend } = await import('./ollama.js')
        return { ...limits, prefix: b.prefix, backend: new OllamaBackend({ config: b, timeouts: b.timeouts ?? config.timeouts, log }) }
      }
      case 'openai': {
        const { OpenAIBackend } = await import('./openai.js')
        return { ...limits, prefix: b.prefix, backend: new OpenAIBackend({ config: b, timeouts: b.timeouts ?? config.timeouts, log, env }) }
      }
    }
  }))
}
