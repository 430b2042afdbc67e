import { randomUUID } from 'node:crypto'
import { Ollama, type Message, type Tool } from 'ollama'
import { HyperinferError } from '../../../shared/errors.js'
import type { GenerationChunk, ResponseFormat, ToolCall } from '../../../shared/schemas/generation.js'
import type { OllamaBackendConfig } from '../../../shared/config/inference.js'
import type { Logger } from '../../../shared/log.js'
import { linkedController } from './signals.js'
import type { Backend, BackendModel, EmbedResult, GenerateRequest, GenerateResult } from './types.js'
import { estimateTokens, httpError, listUpstreamModels, logReachable, readUpstream, streamCut, unreachable, withTimeout, type UpstreamTarget, type UpstreamTimeouts } from './http-upstream.js'

export interface OllamaBackendOptions {
  config: OllamaBackendConfig
  timeouts: UpstreamTimeouts
  log: Logger
}

interface StreamPart {
  message?: { content?: string, tool_calls?: OllamaToolCall[] }
  response?: string
  done?: boolean
  done_reason?: string
  prompt_eval_count?: number
  eval_count?: number
}

/** An Ollama server through the `ollama` client: /api/chat, /api/generate, /api/tags, /api/embed. */
export class OllamaBackend implements Backend {
  readonly type = 'ollama' as const
  readonly name: string
  private readonly opts: OllamaBackendOptions
  /** Aborts model listings in flight when the backend closes: a closing worker does not wait out an upstream that hangs. */
  private readonly closed = new AbortController()

  constructor (opts: OllamaBackendOptions) {
    this.opts = opts
    this.name = opts.config.name
  }

  async start (): Promise<void> {
    await logReachable(this.opts.log, { backend: this.name, url: this.opts.config.url }, () => this.tags(), 'ollama')
  }

  async listModels (): Promise<BackendModel[]> {
    return listUpstreamModels(this.opts.config.models, () => this.tags(), (name, upstream) => upstream.some(u => u === name || u === `${name}:latest`))
  }

  async * generate (request: GenerateRequest, signal: AbortSignal): AsyncGenerator<GenerationChunk, GenerateResult, void> {
    const target: UpstreamTarget = { backend: this.name, type: this.type, model: request.model }
    refuseForcedToolChoice(request, this.name)
    const options = {
      num_predict: request.maxTokens,
      temperature: request.temperature,
      top_p: request.topP,
      stop: request.stop,
      seed: request.seed
    }
    const format = toOllamaFormat(request.responseFormat)
    const tools = request.toolChoice === 'none' ? undefined : request.tools
    let pieces = 0
    let last: StreamPart | null = null
    const toolCalls: ToolCall[] = []
    const open = (abort: AbortSignal): Promise<AsyncIterable<StreamPart>> => {
      const client = this.client(abort)
      // tools exist only in /api/chat: a plain prompt with tools goes there as one user message
      const started = request.messages !== undefined || tools !== undefined
        ? client.chat({ model: request.model, messages: toOllamaMessages(request), stream: true, options, format, tools: tools as Tool[] | undefined })
        : client.generate({ model: request.model, prompt: request.prompt ?? '', stream: true, options, format })
      return started as Promise<AsyncIterable<StreamPart>>
    }
    for await (const part of readUpstream(open, signal, this.opts.timeouts, target, (err, received) => this.mapError(err, target, received))) {
      const text = part.message?.content ?? part.response ?? ''
      if (part.done === true) last = part
      const calls = toolCallsOf(part)
      const deltas = calls.map((call, i) => ({ index: toolCalls.length + i, ...call }))
      toolCalls.push(...calls)
      if (text !== '' || deltas.length > 0) {
        pieces++
        yield deltas.length > 0 ? { text, toolCalls: deltas } : { text }
      }
    }
    if (last === null && !signal.aborted) throw streamCut(target, 'no final message')
    return resultOf(request, last, pieces, toolCalls)
  }

  async embed (model: string, input: string[], signal: AbortSignal): Promise<EmbedResult> {
    const target: UpstreamTarget = { backend: this.name, type: this.type, model }
    const { controller, unlink } = linkedController(signal)
    try {
      const res = await withTimeout(this.client(controller.signal).embed({ model, input }), this.opts.timeouts.firstByteMs, target, 'no answer', () => { controller.abort() })
      return { embeddings: res.embeddings, promptTokens: (res as { prompt_eval_count?: number }).prompt_eval_count ?? estimateTokens(input.join(' ')) }
    } catch (err) {
      throw this.mapError(err, target, false)
    } finally {
      unlink()
    }
  }

  async close (): Promise<void> {
    this.closed.abort()
  }

  private async tags (): Promise<string[]> {
    const target: UpstreamTarget = { backend: this.name, type: this.type }
    const controller = new AbortController()
    try {
      const list = await withTimeout(this.client(AbortSignal.any([controller.signal, this.closed.signal])).list(), this.opts.timeouts.firstByteMs, target, 'no model list', () => { controller.abort() })
      return list.models.map(m => m.name)
    } catch (err) {
      throw this.mapError(err, target, false)
    }
  }

  /** A client per call, so each request has its own abort signal on every fetch it makes. */
  private client (signal: AbortSignal): Ollama {
    const fetchWithSignal: typeof fetch = (input, init) => fetch(input, {
      ...init,
      signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal
    })
    return new Ollama({ host: this.opts.config.url, fetch: fetchWithSignal })
  }

  private mapError (err: unknown, target: UpstreamTarget, received: boolean): HyperinferError {
    if ((err as { name?: string })?.name === 'HyperinferError') return err as HyperinferError
    const status = (err as { status_code?: unknown }).status_code
    if (typeof status === 'number') return httpError(status, String((err as { error?: unknown }).error ?? (err as Error).message), target)
    return received ? streamCut(target, err) : unreachable(target, err)
  }
}

function promptText (request: GenerateRequest): string {
  return request.prompt ?? request.messages?.map(m => m.content).join('\n') ?? ''
}

interface OllamaToolCall { function: { name: string, arguments?: Record<string, unknown> } }

/** Ollama has no tool_choice: 'auto' and 'none' map onto sending tools or not; forcing a call cannot be honoured. */
function refuseForcedToolChoice (request: GenerateRequest, backend: string): void {
  const choice = request.toolChoice
  if (choice === undefined || choice === 'auto' || choice === 'none') return
  throw new HyperinferError('INVALID_ARGUMENT',
    `model "${request.model}" (backend ${backend}, ollama) cannot be forced to call a tool: use tool_choice "auto" or "none"`,
    { details: { model: request.model, backend, unsupported: ['tool_choice'] } })
}

function toOllamaFormat (format: ResponseFormat | undefined): string | object | undefined {
  if (format === undefined || format.type === 'text') return undefined
  if (format.type === 'json_object') return 'json'
  return format.jsonSchema.schema ?? 'json'
}

function toOllamaMessages (request: GenerateRequest): Message[] {
  if (request.messages === undefined) return [{ role: 'user', content: request.prompt ?? '' }]
  const names = new Map<string, string>()
  return request.messages.map(m => {
    if (m.toolCalls) {
      for (const call of m.toolCalls) names.set(call.id, call.function.name)
      return { role: m.role, content: m.content, tool_calls: m.toolCalls.map(call => ({ function: { name: call.function.name, arguments: parseArguments(call.function.arguments) } })) }
    }
    if (m.role === 'tool') {
      const name = m.toolCallId !== undefined ? names.get(m.toolCallId) : undefined
      return name !== undefined ? { role: 'tool', content: m.content, tool_name: name } : { role: 'tool', content: m.content }
    }
    return { role: m.role, content: m.content }
  })
}

function parseArguments (text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : {}
  } catch {
    return {}
  }
}

/** Ollama sends each tool call whole, its arguments as an object. */
function toolCallsOf (part: StreamPart): ToolCall[] {
  return (part.message?.tool_calls ?? []).map(call => ({
    id: `call_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    type: 'function' as const,
    function: { name: call.function.name, arguments: JSON.stringify(call.function.arguments ?? {}) }
  }))
}

/** Counts from Ollama's final message, estimated when it sent none; no final message means cancelled. */
function resultOf (request: GenerateRequest, last: StreamPart | null, pieces: number, toolCalls: ToolCall[]): GenerateResult {
  if (last === null) return { promptTokens: estimateTokens(promptText(request)), completionTokens: pieces, finishReason: 'cancelled' }
  const counts = {
    promptTokens: last.prompt_eval_count ?? estimateTokens(promptText(request)),
    completionTokens: last.eval_count ?? pieces
  }
  if (toolCalls.length > 0) return { ...counts, finishReason: 'tool_calls', toolCalls }
  return { ...counts, finishReason: last.done_reason === 'length' ? 'length' : 'stop' }
}
