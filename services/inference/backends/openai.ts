import OpenAI from 'openai'
import type { OpenAIBackendConfig } from '../../../shared/config/inference.js'
import type { HyperinferError } from '../../../shared/errors.js'
import type { Logger } from '../../../shared/log.js'
import { linkedController } from './signals.js'
import type { ChatCompletionChunk, ChatCompletionCreateParamsStreaming, ChatCompletionMessageParam } from 'openai/resources/chat/completions'
import type { GenerationChunk, ResponseFormat, ToolCallDelta } from '../../../shared/schemas/generation.js'
import { ToolCallAssembler } from '../../../shared/tool-calls.js'
import type { Backend, BackendModel, EmbedResult, GenerateRequest, GenerateResult } from './types.js'
import { OpenAIChatStream, UpstreamStatusError } from './openai-chat-stream.js'
import { estimateTokens, httpError, retryAfterHeader, listUpstreamModels, logReachable, readUpstream, streamCut, unreachable, withTimeout, type UpstreamTarget, type UpstreamTimeouts } from './http-upstream.js'

export interface OpenAIBackendOptions {
  config: OpenAIBackendConfig
  timeouts: UpstreamTimeouts
  log: Logger
  env?: NodeJS.ProcessEnv
}

/**
 * Any OpenAI-compatible API through the `openai` client: streamed chat completions with
 * `stream_options.include_usage`, /v1/models, /v1/embeddings. A plain prompt is sent as one user message.
 * `max_tokens` (not `max_completion_tokens`) because most compatible servers know only that one.
 */
export class OpenAIBackend implements Backend {
  readonly type = 'openai' as const
  readonly name: string
  private readonly opts: OpenAIBackendOptions
  private readonly client: OpenAI
  private readonly chat: OpenAIChatStream
  /** Aborts model listings in flight when the backend closes: a closing worker does not wait out an upstream that hangs. */
  private readonly closed = new AbortController()

  constructor (opts: OpenAIBackendOptions) {
    this.opts = opts
    this.name = opts.config.name
    const apiKey = (opts.env ?? process.env)[opts.config.apiKeyEnv]
    if (!apiKey) opts.log.warn({ backend: this.name, env: opts.config.apiKeyEnv }, 'no API key in the environment: sending requests without one')
    this.client = new OpenAI({
      baseURL: opts.config.baseURL,
      apiKey: apiKey ?? 'none',
      maxRetries: 0,
      timeout: opts.timeouts.firstByteMs
    })
    this.chat = new OpenAIChatStream(opts.config.baseURL, apiKey ?? 'none')
  }

  async start (): Promise<void> {
    await logReachable(this.opts.log, { backend: this.name, baseURL: this.opts.config.baseURL }, () => this.upstreamModels(), 'openai-compatible API')
  }

  async listModels (): Promise<BackendModel[]> {
    const configured = this.opts.config.models ?? []
    // Hosted APIs often list fewer models than they serve: a configured model is ready when the API answers.
    return listUpstreamModels(configured, () => this.upstreamModels(), (name, upstream) => configured.length > 0 || upstream.includes(name))
  }

  async * generate (request: GenerateRequest, signal: AbortSignal): AsyncGenerator<GenerationChunk, GenerateResult, void> {
    const target: UpstreamTarget = { backend: this.name, type: this.type, model: request.model }
    const messages = toOpenAIMessages(request)
    const calls = new ToolCallAssembler()
    let pieces = 0
    let finish: string | null = null
    let usage: ChatCompletionChunk['usage'] = null
    const open = (abort: AbortSignal): Promise<AsyncIterable<ChatCompletionChunk>> => this.chat.open({
      model: request.model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: request.maxTokens,
      temperature: request.temperature,
      top_p: request.topP,
      stop: request.stop,
      seed: request.seed,
      user: request.user,
      tools: request.tools,
      tool_choice: request.toolChoice,
      response_format: toOpenAIResponseFormat(request.responseFormat)
    }, abort)
    for await (const chunk of readUpstream(open, signal, this.opts.timeouts, target, (err, received) => this.mapError(err, target, received))) {
      if (chunk.usage) usage = chunk.usage
      const choice = chunk.choices?.[0]
      if (choice?.finish_reason) finish = choice.finish_reason
      const text = choice?.delta?.content ?? ''
      const toolCalls = choice?.delta?.tool_calls?.map(toToolCallDelta)
      if (toolCalls?.length) calls.add(toolCalls)
      if (text !== '' || toolCalls?.length) {
        pieces++
        yield toolCalls?.length ? { text, toolCalls } : { text }
      }
    }
    const promptTokens = usage?.prompt_tokens ?? estimateTokens(messages.map(m => typeof m.content === 'string' ? m.content : '').join('\n'))
    const completionTokens = usage?.completion_tokens ?? pieces
    const cachedPromptTokens = usage?.prompt_tokens_details?.cached_tokens ?? 0
    const toolCalls = calls.done()
    if (finish === null) {
      if (!signal.aborted) throw streamCut(target, 'no finish_reason')
      return { promptTokens, completionTokens, finishReason: 'cancelled', cachedPromptTokens }
    }
    const finishReason = finish === 'length' ? 'length' : finish === 'tool_calls' || finish === 'function_call' ? 'tool_calls' : 'stop'
    const result: GenerateResult = { promptTokens, completionTokens, finishReason, cachedPromptTokens }
    return toolCalls.length > 0 ? { ...result, toolCalls } : result
  }

  async embed (model: string, input: string[], signal: AbortSignal): Promise<EmbedResult> {
    const target: UpstreamTarget = { backend: this.name, type: this.type, model }
    try {
      const res = await this.client.embeddings.create({ model, input }, { signal })
      return { embeddings: res.data.map(d => d.embedding), promptTokens: res.usage?.prompt_tokens ?? estimateTokens(input.join(' ')) }
    } catch (err) {
      throw this.mapError(err, target, false)
    }
  }

  async close (): Promise<void> {
    this.closed.abort()
    await this.chat.close()
  }

  private async upstreamModels (): Promise<string[]> {
    const target: UpstreamTarget = { backend: this.name, type: this.type }
    const controller = new AbortController()
    try {
      const page = await withTimeout(this.client.models.list({ signal: AbortSignal.any([controller.signal, this.closed.signal]) }), this.opts.timeouts.firstByteMs, target, 'no model list', () => { controller.abort() })
      return page.data.map(m => m.id)
    } catch (err) {
      throw this.mapError(err, target, false)
    }
  }

  private mapError (err: unknown, target: UpstreamTarget, received: boolean): HyperinferError {
    if ((err as { name?: string })?.name === 'HyperinferError') return err as HyperinferError
    if (err instanceof UpstreamStatusError) return httpError(err.status, err.message, target, err.retryAfter)
    if (err instanceof OpenAI.APIError && typeof err.status === 'number') {
      const body = err.error as { message?: unknown } | undefined
      const message = typeof body?.message === 'string' ? body.message : err.message
      const headers = err.headers as Headers | undefined
      return httpError(err.status, message, target, retryAfterHeader(name => headers?.get(name)))
    }
    return received ? streamCut(target, err) : unreachable(target, err)
  }
}

function toOpenAIMessages (request: GenerateRequest): ChatCompletionMessageParam[] {
  if (request.messages === undefined) return [{ role: 'user', content: request.prompt ?? '' }]
  return request.messages.map((m): ChatCompletionMessageParam => {
    if (m.role === 'tool') return { role: 'tool', content: m.content, tool_call_id: m.toolCallId ?? '' }
    if (m.role === 'assistant') return m.toolCalls ? { role: 'assistant', content: m.content === '' ? null : m.content, tool_calls: m.toolCalls } : { role: 'assistant', content: m.content }
    return { role: m.role, content: m.content }
  })
}

function toOpenAIResponseFormat (format: ResponseFormat | undefined): ChatCompletionCreateParamsStreaming['response_format'] {
  if (format === undefined || format.type !== 'json_schema') return format
  return { type: 'json_schema', json_schema: format.jsonSchema }
}

type UpstreamToolCallDelta = NonNullable<ChatCompletionChunk.Choice.Delta['tool_calls']>[number]

function toToolCallDelta (d: UpstreamToolCallDelta): ToolCallDelta {
  const delta: ToolCallDelta = { index: d.index }
  if (d.id) delta.id = d.id
  if (d.type) delta.type = d.type
  if (d.function) {
    delta.function = {}
    if (d.function.name != null) delta.function.name = d.function.name
    if (d.function.arguments != null) delta.function.arguments = d.function.arguments
  }
  return delta
}
