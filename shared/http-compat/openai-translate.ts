import type { CompletionUsage } from 'openai/resources/completions'
import { HyperinferError } from '../errors.js'
import type { ChatMessage } from '../schemas/generation.js'
import type { InferResult } from '../schemas/gateway.js'
import type { ChatCompletionBody, CompletionBody, OpenAIMessage } from './openai-schemas.js'
import type { GenerationInput } from './gateway-upstream.js'

function refuse (param: string, message: string): HyperinferError {
  return new HyperinferError('INVALID_ARGUMENT', message, { details: { param, code: 'unsupported_value' } })
}

/** n > 1 would mean several generations per request; refused plainly rather than silently giving one. */
function checkN (n: number | null | undefined): void {
  if (n != null && n !== 1) throw refuse('n', `n=${n} is not supported: this mesh returns one choice per request; send n=1 (or leave it out) and make several requests`)
}

function text (m: OpenAIMessage, index: number): string {
  if (m.content == null) return ''
  if (typeof m.content === 'string') return m.content
  return m.content.map((part, p) => {
    if (part.type !== 'text' || !('text' in part)) throw refuse(`messages.${index}.content.${p}.type`, `content parts of type "${part.type}" are not supported: send text`)
    return (part as { text: string }).text
  }).join('')
}

function toMessage (m: OpenAIMessage, index: number): ChatMessage {
  const role = m.role === 'developer' ? 'system' : m.role
  const message: ChatMessage = { role, content: text(m, index) }
  if (m.tool_calls?.length) message.toolCalls = m.tool_calls
  if (m.tool_call_id !== undefined) message.toolCallId = m.tool_call_id
  return message
}

function stopList (stop: string | string[] | null | undefined): string[] | undefined {
  if (stop == null) return undefined
  return typeof stop === 'string' ? [stop] : stop
}

const orUndefined = <T>(value: T | null | undefined): T | undefined => value ?? undefined

export function chatToGeneration (body: ChatCompletionBody): GenerationInput {
  checkN(body.n)
  const format = body.response_format
  return {
    model: body.model,
    messages: body.messages.map(toMessage),
    maxTokens: orUndefined(body.max_completion_tokens ?? body.max_tokens),
    temperature: orUndefined(body.temperature),
    topP: orUndefined(body.top_p),
    stop: stopList(body.stop),
    seed: orUndefined(body.seed),
    user: body.user,
    tools: body.tools,
    toolChoice: body.tool_choice,
    responseFormat: format?.type === 'json_schema' ? { type: 'json_schema', jsonSchema: format.json_schema } : format
  }
}

export function completionToGeneration (body: CompletionBody): GenerationInput {
  checkN(body.n)
  if (body.echo === true) throw refuse('echo', 'echo is not supported')
  if (body.suffix != null && body.suffix !== '') throw refuse('suffix', 'suffix is not supported')
  return {
    model: body.model,
    prompt: typeof body.prompt === 'string' ? body.prompt : body.prompt[0],
    maxTokens: orUndefined(body.max_tokens),
    temperature: orUndefined(body.temperature),
    topP: orUndefined(body.top_p),
    stop: stopList(body.stop),
    seed: orUndefined(body.seed),
    user: body.user
  }
}

/** The mesh's finish reasons in OpenAI's words ('cancelled' only reaches a client that already left). */
export function openAIFinish (reason: InferResult['finishReason']): 'stop' | 'length' | 'tool_calls' {
  return reason === 'length' ? 'length' : reason === 'tool_calls' ? 'tool_calls' : 'stop'
}

/** Prompt tokens the backend kept from an earlier request are `prompt_tokens_details.cached_tokens`, as OpenAI reports them. */
export function openAIUsage (usage: InferResult['usage']): CompletionUsage {
  const answer: CompletionUsage = { prompt_tokens: usage.promptTokens, completion_tokens: usage.completionTokens, total_tokens: usage.totalTokens }
  if (usage.cachedPromptTokens !== undefined) answer.prompt_tokens_details = { cached_tokens: usage.cachedPromptTokens }
  return answer
}

export function chatCompletion (id: string, created: number, result: InferResult): Record<string, unknown> {
  const toolCalls = result.toolCalls ?? []
  return {
    id,
    object: 'chat.completion',
    created,
    model: result.model,
    choices: [{
      index: 0,
      message: toolCalls.length > 0
        ? { role: 'assistant', content: result.text === '' ? null : result.text, refusal: null, tool_calls: toolCalls }
        : { role: 'assistant', content: result.text, refusal: null },
      finish_reason: openAIFinish(result.finishReason),
      logprobs: null
    }],
    usage: openAIUsage(result.usage)
  }
}

export function textCompletion (id: string, created: number, result: InferResult): Record<string, unknown> {
  return {
    id,
    object: 'text_completion',
    created,
    model: result.model,
    choices: [{ index: 0, text: result.text, finish_reason: openAIFinish(result.finishReason), logprobs: null }],
    usage: openAIUsage(result.usage)
  }
}

/** Embeddings as float arrays, or as base64 of little-endian float32 (the openai SDK asks for base64 by default). */
export function encodeEmbedding (vector: number[], format: 'float' | 'base64' | undefined): number[] | string {
  if (format !== 'base64') return vector
  return Buffer.from(new Float32Array(vector).buffer).toString('base64')
}
