import { existsSync, readdirSync, statSync } from 'node:fs'
import { basename, extname, join, resolve } from 'node:path'
import type { ChatHistoryItem, Llama, LlamaContext, LlamaContextSequence, LlamaModel, Token } from 'node-llama-cpp'
import { commonPrefixLength } from '../../../shared/common-prefix.js'
import type { LlamaBackendConfig } from '../../../shared/config/inference.js'
import { HyperinferError } from '../../../shared/errors.js'
import type { Logger } from '../../../shared/log.js'
import { wantsStructuredOutput, type ChatMessage, type GenerationChunk } from '../../../shared/schemas/generation.js'
import { ChunkQueue } from '../chunk-queue.js'
import { flattenMessages } from '../prompt.js'
import type { Backend, BackendModel, GenerateRequest, GenerateResult } from './types.js'

type NodeLlamaCpp = typeof import('node-llama-cpp')
/** One generation on a prepared sequence (a chat response or a plain completion). */
type RunGeneration = (options: Parameters<InstanceType<NodeLlamaCpp['LlamaCompletion']>['generateCompletionWithMeta']>[1]) => Promise<{ metadata: { stopReason: string } }>

interface LoadedModel {
  name: string
  file: string
  model: LlamaModel
  context: LlamaContext
  contextLength: number
  hasChatTemplate: boolean
  free: LlamaContextSequence[]
}

export interface LlamaBackendOptions {
  config: LlamaBackendConfig
  /** Sequences per model context: as many generations as may run at once. */
  concurrency: number
  log: Logger
}

let llamaPromise: Promise<{ lib: NodeLlamaCpp, llama: Llama }> | null = null

/** node-llama-cpp is imported on first use only, so workers without a llama backend never load it. */
function loadLlama (): Promise<{ lib: NodeLlamaCpp, llama: Llama }> {
  llamaPromise ??= (async () => {
    const lib = await import('node-llama-cpp')
    const llama = await lib.getLlama({ gpu: false, build: 'never', logLevel: lib.LlamaLogLevel.error })
    return { lib, llama }
  })()
  return llamaPromise
}

/** The GGUF files a llama backend serves, by mesh name (file base name without extension). */
export function resolveModelFiles (config: LlamaBackendConfig): Map<string, string> {
  const files = new Map<string, string>()
  if (config.modelPath !== undefined) {
    const file = resolve(config.modelPath)
    if (!existsSync(file) || !statSync(file).isFile()) throw missingModel(file)
    files.set(basename(file, extname(file)), file)
  } else if (config.modelsDir !== undefined) {
    const dir = resolve(config.modelsDir)
    if (!existsSync(dir)) throw missingModel(dir)
    for (const entry of readdirSync(dir).sort()) {
      if (extname(entry).toLowerCase() === '.gguf') files.set(basename(entry, extname(entry)), join(dir, entry))
    }
    if (files.size === 0) throw missingModel(join(dir, '*.gguf'))
  }
  if (config.models) {
    for (const name of [...files.keys()]) if (!config.models.includes(name)) files.delete(name)
  }
  return files
}

function missingModel (path: string): HyperinferError {
  return new HyperinferError('MODEL_UNAVAILABLE',
    `llama model file not found: ${path}. Pass --llama-model <file.gguf> with an existing GGUF file (the repository's ` +
    'bundled one is ../shared/models/stories260K.gguf), or download one, e.g. `npx node-llama-cpp pull <url>`',
    { details: { backend: 'llama', path } })
}

/** A local GGUF model through node-llama-cpp: loaded once, one context sequence per running generation. */
export class LlamaBackend implements Backend {
  readonly type = 'llama' as const
  readonly name: string
  private readonly opts: LlamaBackendOptions
  private readonly models = new Map<string, LoadedModel>()
  private lib: NodeLlamaCpp | null = null

  constructor (opts: LlamaBackendOptions) {
    this.opts = opts
    this.name = opts.config.name
  }

  async start (): Promise<void> {
    const files = resolveModelFiles(this.opts.config)
    const { lib, llama } = await loadLlama()
    this.lib = lib
    for (const [name, file] of files) {
      const started = performance.now()
      const model = await llama.loadModel({ modelPath: file, gpuLayers: this.opts.config.gpu ? 'auto' : 0 })
      const contextLength = Math.min(this.opts.config.contextSize, model.trainContextSize)
      const context = await model.createContext({
        contextSize: contextLength,
        sequences: this.opts.concurrency,
        threads: this.opts.config.threads
      })
      const free: LlamaContextSequence[] = []
      for (let i = 0; i < this.opts.concurrency; i++) free.push(context.getSequence())
      const hasChatTemplate = typeof model.fileInfo.metadata?.tokenizer?.chat_template === 'string'
      this.models.set(name, { name, file, model, context, contextLength, hasChatTemplate, free })
      this.opts.log.info({ model: name, file, contextLength, hasChatTemplate, threads: this.opts.config.threads, ms: Math.round(performance.now() - started) }, 'llama model loaded')
    }
  }

  async listModels (): Promise<BackendModel[]> {
    return [...this.models.values()].map(m => ({ name: m.name, contextLength: m.contextLength, status: 'ready' as const }))
  }

  async * generate (request: GenerateRequest, signal: AbortSignal): AsyncGenerator<GenerationChunk, GenerateResult, void> {
    const entry = this.models.get(request.model)
    if (!entry || !this.lib) throw new HyperinferError('MODEL_UNAVAILABLE', `backend ${this.name} (llama) has no model "${request.model}"`)
    if (wantsStructuredOutput(request)) throw structuredOutputRefused(this.name, request.model)
    const sequence = entry.free.pop()
    if (!sequence) throw new HyperinferError('BUSY', `backend ${this.name}: no free context sequence for ${request.model}`)
    const stop = new AbortController()
    const onAbort = (): void => { stop.abort(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    if (signal.aborted) onAbort()
    // the generation while it runs: null before it starts and once it has settled
    let running: Promise<unknown> | null = null
    let failed = false
    try {
      const queue = new ChunkQueue<string>()
      let completionTokens = 0
      const { tokens, generate } = this.prepare(entry, sequence, request)
      const promptTokens = tokens.length
      // The sequence keeps the previous request's state: node-llama-cpp evaluates only what follows the shared prefix.
      const cachedPromptTokens = Math.max(0, Math.min(commonPrefixLength(sequence.contextTokens, tokens), promptTokens - 1))
      const room = entry.contextLength - promptTokens
      if (room < 1) {
        throw new HyperinferError('INVALID_ARGUMENT', `prompt is ${promptTokens} tokens; ${request.model} has a context of ${entry.contextLength}`,
          { details: { promptTokens, contextLength: entry.contextLength } })
      }
      const maxTokens = Math.min(request.maxTokens, room)
      const pending = generate({
        maxTokens,
        temperature: request.temperature,
        topP: request.topP,
        seed: request.seed,
        customStopTriggers: request.stop,
        signal: stop.signal,
        stopOnAbortSignal: true,
        onToken: tokens => { completionTokens += tokens.length },
        onTextChunk: text => { queue.push(text) }
      })
      running = pending
      pending.then(() => { running = null; queue.end() }, err => { running = null; queue.fail(err) })
      for await (const text of queue) yield { text }
      const { metadata } = await pending
      const finishReason = metadata.stopReason === 'abort' || stop.signal.aborted
        ? 'cancelled'
        : metadata.stopReason === 'maxTokens' ? 'length' : 'stop'
      return { promptTokens, completionTokens, finishReason, cachedPromptTokens }
    } catch (err) {
      if (stop.signal.aborted && !(err instanceof HyperinferError)) return { promptTokens: 0, completionTokens: 0, finishReason: 'cancelled' }
      failed = true
      throw err
    } finally {
      signal.removeEventListener('abort', onAbort)
      if (running) {
        // the caller may leave early: stop the generation before the sequence goes back to the pool
        // (only then: an abort builds a DOMException, a stack trace included, on every request)
        stop.abort()
        await running.catch(() => {})
      }
      // a failed generation may leave the sequence's state half written: the next one starts clean
      if (failed) await sequence.clearHistory().catch(() => {})
      entry.free.push(sequence)
    }
  }

  /** The prompt on this sequence: through the model's chat template when it has one and the request has messages. */
  private prepare (entry: LoadedModel, sequence: LlamaContextSequence, request: GenerateRequest): { tokens: Token[], generate: RunGeneration } {
    const lib = this.lib as NodeLlamaCpp
    if (request.messages !== undefined && entry.hasChatTemplate) {
      const chat = new lib.LlamaChat({ contextSequence: sequence, chatWrapper: 'auto' })
      const history = toChatHistory(request.messages)
      return {
        tokens: chat.chatWrapper.generateContextState({ chatHistory: history }).contextText.tokenize(entry.model.tokenizer),
        generate: options => chat.generateResponse(history, options).finally(() => { chat.dispose({ disposeSequence: false }) })
      }
    }
    const text = request.prompt ?? flattenMessages(request.messages as ChatMessage[])
    const completion = new lib.LlamaCompletion({ contextSequence: sequence })
    // Tokenized as LlamaCompletion would (no leading space after the start token), and handed to it as
    // tokens: the count billed is what the model evaluates.
    const { bos, shouldPrependBosToken } = entry.model.tokens
    const start = shouldPrependBosToken ? bos : null
    const textTokens = entry.model.tokenize(text, false, start !== null ? 'trimLeadingSpace' : undefined)
    return {
      tokens: start !== null ? [start, ...textTokens] : textTokens,
      generate: options => completion.generateCompletionWithMeta(textTokens, options).finally(() => { completion.dispose({ disposeSequence: false }) })
    }
  }

  async close (): Promise<void> {
    for (const entry of this.models.values()) {
      await entry.context.dispose()
      await entry.model.dispose()
    }
    this.models.clear()
  }
}

/** Tools and JSON response formats are not wired to node-llama-cpp's grammars here: say so instead of ignoring them. */
function structuredOutputRefused (backend: string, model: string): HyperinferError {
  return new HyperinferError('INVALID_ARGUMENT',
    `model "${model}" (backend ${backend}, llama) does not support tools, tool_choice or response_format; ` +
    'send the request without them or use a model served by an ollama or openai-compatible backend',
    { details: { model, backend, unsupported: ['tools', 'tool_choice', 'response_format'] } })
}

function toChatHistory (messages: ChatMessage[]): ChatHistoryItem[] {
  const history: ChatHistoryItem[] = messages.map(m => m.role === 'assistant'
    ? { type: 'model', response: [m.content] }
    : m.role === 'system' ? { type: 'system', text: m.content } : { type: 'user', text: m.content })
  history.push({ type: 'model', response: [] })
  return history
}
