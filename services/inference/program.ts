import type { Command } from 'commander'
import type { RoleProgram } from '../../shared/runner.js'
import { logApprovalState } from './approval-notice.js'
import { createInferenceNode } from './index.js'

const int = (v: string): number => Number.parseInt(v, 10)
const list = (v: string): string[] => v.split(',').map(s => s.trim()).filter(Boolean)

export const program: RoleProgram = {
  role: 'inference',
  describe: 'an inference worker: serves local GGUF models (node-llama-cpp), Ollama and OpenAI-compatible APIs to the mesh',
  options (cmd: Command) {
    cmd
      .option('--llama-model <path>', 'a GGUF file, or a directory of them, to serve with node-llama-cpp; env INFERENCE_LLAMA_MODEL')
      .option('--llama-threads <n>', 'CPU threads per llama context (default 1); env INFERENCE_LLAMA_THREADS', int)
      .option('--ollama-url <url>', 'front the Ollama server at this URL; env OLLAMA_URL')
      .option('--openai-base-url <url>', 'front this OpenAI-compatible API (key from env OPENAI_API_KEY); env OPENAI_BASE_URL')
      .option('--openai-model <names>', 'comma-separated models to serve from that API (default: its /v1/models); env OPENAI_MODELS', list)
      .option('--concurrency <n>', 'generations running at once per backend; env INFERENCE_CONCURRENCY', int)
      .option('--queue <n>', 'requests waiting per backend before BUSY; env INFERENCE_QUEUE_SIZE', int)
      .option('--max-tokens <n>', 'default and largest maxTokens per request; env INFERENCE_MAX_TOKENS', int)
      .option('--no-cache', 'turn the response cache for deterministic requests off')
  },
  configFlags (flags) {
    return {
      'inference.llamaModel': flags.llamaModel,
      'inference.llamaThreads': flags.llamaThreads,
      'inference.ollamaUrl': flags.ollamaUrl,
      'inference.openaiBaseUrl': flags.openaiBaseUrl,
      'inference.openaiModels': flags.openaiModel,
      'inference.concurrency': flags.concurrency,
      'inference.queueSize': flags.queue,
      'inference.maxTokens': flags.maxTokens,
      'inference.cache.enabled': flags.cache === false ? false : undefined
    }
  },
  async start ({ config, node }) {
    const worker = await createInferenceNode({
      ...node,
      inference: config.inference
    })
    const approval = logApprovalState(worker.node)
    return {
      node: worker.node,
      close: async () => {
        approval.close()
        await worker.close()
      }
    }
  }
}
