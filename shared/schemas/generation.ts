import { z } from 'zod'

/**
 * The one contract of a generation request, from the client to the gateway to the worker to its
 * backend: every limit and default is defined here and nowhere else.
 */

export const MODEL_NAME_MAX = 256
export const PROMPT_MAX_CHARS = 512 * 1024
export const MESSAGES_MAX = 1000
export const DEFAULT_MAX_TOKENS = 256
export const MAX_TOKENS_LIMIT = 32_768
export const STOP_MAX = 8
export const TOOLS_MAX = 128
const ID_MAX = 256
const JSON_SCHEMA_MAX_CHARS = 256 * 1024

export const modelName = z.string().min(1).max(MODEL_NAME_MAX)

/** A JSON Schema object (tool parameters, response formats), bounded in size, passed through as is. */
const jsonSchemaObject = z.record(z.string(), z.unknown()).refine(value => JSON.stringify(value).length <= JSON_SCHEMA_MAX_CHARS, { message: `schema larger than ${JSON_SCHEMA_MAX_CHARS} characters` })

export const functionName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'function names are 1-64 letters, digits, _ or -')

export const toolCall = z.strictObject({
  id: z.string().min(1).max(ID_MAX),
  type: z.literal('function'),
  function: z.strictObject({ name: functionName, arguments: z.string().max(PROMPT_MAX_CHARS) })
})
export type ToolCall = z.infer<typeof toolCall>

/** A piece of a tool call as it streams: the first piece of a call has its id and name, later ones more arguments. */
export const toolCallDelta = z.strictObject({
  index: z.number().int().min(0).max(TOOLS_MAX),
  id: z.string().max(ID_MAX).optional(),
  type: z.literal('function').optional(),
  function: z.strictObject({ name: z.string().max(64).optional(), arguments: z.string().max(PROMPT_MAX_CHARS).optional() }).optional()
})
export type ToolCallDelta = z.infer<typeof toolCallDelta>

export const chatMessage = z.strictObject({
  role: z.enum(['system', 'user', 'assistant', 'tool']),
  content: z.string().max(PROMPT_MAX_CHARS),
  /** The calls an assistant turn made (role assistant). */
  toolCalls: z.array(toolCall).min(1).max(TOOLS_MAX).optional(),
  /** Which call this message answers (role tool). */
  toolCallId: z.string().min(1).max(ID_MAX).optional()
})
export type ChatMessage = z.infer<typeof chatMessage>

export const toolDefinition = z.strictObject({
  type: z.literal('function'),
  function: z.strictObject({
    name: functionName,
    description: z.string().max(8192).optional(),
    parameters: jsonSchemaObject.optional(),
    strict: z.boolean().nullable().optional()
  })
})
export type ToolDefinition = z.infer<typeof toolDefinition>

export const toolChoice = z.union([
  z.enum(['none', 'auto', 'required']),
  z.strictObject({ type: z.literal('function'), function: z.strictObject({ name: functionName }) })
])
export type ToolChoice = z.infer<typeof toolChoice>

export const responseFormat = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('text') }),
  z.strictObject({ type: z.literal('json_object') }),
  z.strictObject({
    type: z.literal('json_schema'),
    jsonSchema: z.strictObject({
      name: functionName,
      description: z.string().max(8192).optional(),
      schema: jsonSchemaObject.optional(),
      strict: z.boolean().nullable().optional()
    })
  })
])
export type ResponseFormat = z.infer<typeof responseFormat>

/** The fields of a generation; `generation` adds the rule that exactly one of prompt or messages is given. */
export const generationFields = z.strictObject({
  model: modelName,
  prompt: z.string().max(PROMPT_MAX_CHARS).optional(),
  messages: z.array(chatMessage).min(1).max(MESSAGES_MAX).optional(),
  maxTokens: z.number().int().min(1).max(MAX_TOKENS_LIMIT).default(DEFAULT_MAX_TOKENS),
  temperature: z.number().min(0).max(2).optional(),
  topP: z.number().gt(0).max(1).optional(),
  stop: z.array(z.string().min(1).max(256)).max(STOP_MAX).optional(),
  seed: z.number().int().min(0).max(2 ** 31 - 1).optional(),
  /** The end user on whose behalf an application asks (OpenAI's `user`), passed to upstreams that take it. */
  user: z.string().min(1).max(256).optional(),
  tools: z.array(toolDefinition).min(1).max(TOOLS_MAX).optional(),
  toolChoice: toolChoice.optional(),
  responseFormat: responseFormat.optional()
})

/** Exactly one input: a plain prompt (completion) or chat messages. */
export function oneInput (r: { prompt?: string, messages?: unknown[] }, ctx: z.RefinementCtx): void {
  if ((r.prompt === undefined) === (r.messages === undefined)) {
    ctx.addIssue({ code: 'custom', message: 'give exactly one of prompt or messages', path: ['prompt'] })
  }
}

export const generation = generationFields.superRefine(oneInput)
export type Generation = z.output<typeof generation>

/** Asks for structured output: tools or a JSON response format (a backend that cannot do them refuses). */
export function wantsStructuredOutput (g: Pick<Generation, 'tools' | 'toolChoice' | 'responseFormat'>): boolean {
  return g.tools !== undefined || (g.toolChoice !== undefined && g.toolChoice !== 'none') ||
    (g.responseFormat !== undefined && g.responseFormat.type !== 'text')
}

export const usage = z.object({
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  totalTokens: z.number().int().min(0),
  /** Of the prompt tokens, those the backend did not evaluate again (a prefix it kept); absent when none or unknown. */
  cachedPromptTokens: z.number().int().min(0).optional()
})
export type Usage = z.infer<typeof usage>

/** `error` only on the gateway's side: a worker never answers with it. */
export const finishReason = z.enum(['stop', 'length', 'tool_calls', 'cancelled', 'error'])
export type FinishReason = z.infer<typeof finishReason>

/** One streamed piece: text, and tool-call pieces when the model calls tools. */
export const generationChunk = z.object({
  text: z.string(),
  toolCalls: z.array(toolCallDelta).max(TOOLS_MAX).optional()
})
export type GenerationChunk = z.infer<typeof generationChunk>

/** What embeddings are asked for: one text or a batch. */
export const embedInput = z.union([z.string().max(PROMPT_MAX_CHARS), z.array(z.string().max(PROMPT_MAX_CHARS)).min(1).max(256)])
