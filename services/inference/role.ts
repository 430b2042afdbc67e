import { followRegistry } from '../../shared/accounts/node-access.js'
import type { InferenceHealthDetails } from '../../shared/schemas/health-details.js'
import { allowedCpus, pinToCpus } from '../../shared/role/cpu-affinity.js'
import { defineRole, type StartedRole, type StartOptions } from '../../shared/role/define-role.js'
import { startRole } from '../../shared/role/start-role.js'
import { inferenceMethods } from './api.js'
import { logApprovalState } from './approval-notice.js'
import { createBackendSlots } from './backends/create-backends.js'
import { InferenceWorker, type BackendSlot } from './worker.js'

/** What a caller in this process may pass besides the config section. */
export interface InferenceExtras {
  /** Backends built by the caller instead of from config (tests). */
  backends?: BackendSlot[]
  env?: NodeJS.ProcessEnv
}

export interface InferenceHandles {
  worker: InferenceWorker
  readonly publicKey: Buffer
}

const int = (v: string): number => Number.parseInt(v, 10)
const list = (v: string): string[] => v.split(',').map(s => s.trim()).filter(Boolean)

/** An inference worker: loads its backends, then serves inference.* to approved gateways. */
export const inferenceRole = defineRole<'inference', InferenceHandles, InferenceExtras>({
  role: 'inference',
  describe: 'an inference worker: serves local GGUF models (node-llama-cpp), Ollama and OpenAI-compatible APIs to the mesh',
  configSection: 'inference',
  flags: {
    declare (cmd) {
      cmd
        .option('--llama-model <path>', 'a GGUF file, or a directory of them, to serve with node-llama-cpp; env INFERENCE_LLAMA_MODEL')
        .option('--llama-threads <n>', 'CPU threads per llama context (default 1); env INFERENCE_LLAMA_THREADS', int)
        .option('--cpus <list>', 'pin this worker to these CPUs (Linux), e.g. 3 or 2-3: a one-thread model generates faster when its threads share a core; env INFERENCE_CPUS')
        .option('--ollama-url <url>', 'front the Ollama server at this URL; env OLLAMA_URL')
        .option('--openai-base-url <url>', 'front this OpenAI-compatible API (key from env OPENAI_API_KEY); env OPENAI_BASE_URL')
        .option('--openai-model <names>', 'comma-separated models to serve from that API (default: its /v1/models); env OPENAI_MODELS', list)
        .option('--concurrency <n>', 'generations running at once per backend; env INFERENCE_CONCURRENCY', int)
        .option('--queue <n>', 'requests waiting per backend before BUSY; env INFERENCE_QUEUE_SIZE', int)
        .option('--max-tokens <n>', 'default and largest maxTokens per request; env INFERENCE_MAX_TOKENS', int)
        .option('--no-cache', 'turn the response cache for deterministic requests off')
    },
    toConfig: flags => ({
      'inference.llamaModel': flags.llamaModel,
      'inference.llamaThreads': flags.llamaThreads,
      'inference.cpus': flags.cpus,
      'inference.ollamaUrl': flags.ollamaUrl,
      'inference.openaiBaseUrl': flags.openaiBaseUrl,
      'inference.openaiModels': flags.openaiModel,
      'inference.concurrency': flags.concurrency,
      'inference.queueSize': flags.queue,
      'inference.maxTokens': flags.maxTokens,
      'inference.cache.enabled': flags.cache === false ? false : undefined
    })
  },
  // Workers say it their own way: with the approve-worker command, repeated until approved.
  approvalNotice: logApprovalState,
  async build (node, config, options) {
    if (config.cpus !== undefined) {
      await pinToCpus(process.pid, config.cpus)
      node.log.info({ cpus: await allowedCpus() }, 'pinned to CPUs')
    }
    const backends = options.backends ?? await createBackendSlots(config, node.log, options.env)
    const worker = new InferenceWorker({ backends, cache: config.cache, metrics: node.metrics, log: node.log })
    try {
      await worker.start()
    } catch (err) {
      await worker.close()
      throw err
    }
    // Only approved gateways may call inference.* (and only approved nodes connect at all).
    const registry = options.authKey ? followRegistry(node, options.authKey) : null
    const served = await worker.models()
    node.log.info({ models: served.map(m => `${m.name} (${m.backend}, ${m.status})`) }, `serving ${served.length} model(s)`)
    return {
      methods: inferenceMethods(worker),
      health: () => {
        const models = worker.modelNames
        return { status: models.length > 0 ? 'up' : 'degraded', details: { models, capacity: worker.capacity.current() } satisfies InferenceHealthDetails }
      },
      handles: { worker, get publicKey () { return node.publicKey } } satisfies InferenceHandles,
      async close () {
        registry?.close()
        await worker.close()
      }
    }
  }
})

export type InferenceNode = StartedRole<InferenceHandles>

/** A worker in this process (tests, the lab). */
export function createInferenceNode (options: StartOptions<'inference', InferenceExtras>): Promise<InferenceNode> {
  return startRole(inferenceRole, options)
}
