import { z } from 'zod'

/**
 * Request bodies of the OpenAI API as clients send them. Unknown fields are dropped rather than
 * refused (SDKs and frameworks send sampling options we do not use, e.g. presence_penalty: 0);
 * the fields we translate are checked here and again against the generation contract.
 */

const textPart = z.object({ type: z.literal('text'), text: z.string() })
const content = z.union([z.string(), z.array(z.union([textPart, z.object({ type: z.string() })])), z.null()])

const toolCall = z.object({
  id: z.string(),
  type: z.literal('function'),
  function: z.object({ name: z.string(), arguments: z.string() })
})

export const openAIMessage = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant', 'tool']),
  content: content.optional(),
  name: z.string().optional(),
  tool_calls: z.array(toolCall).optional(),
  tool_call_id: z.string().optional()
})
export type OpenAIMessage = z.infer<typeof openAIMessage>

const stop = z.union([z.string(), z.array(z.string()), z.null()]).optional()

const sampling = {
  model: z.string().min(1),
  temperature: z.number().nullable().optional(),
  top_p: z.number().nullable().optional(),
  stop,
  seed: z.number().int().nullable().optional(),
  user: z.string().optional(),
  n: z.number().int().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: z.number().int().nullable().optional()
}

export const chatCompletionBody = z.object({
  ...sampling,
  messages: z.array(openAIMessage).min(1),
  max_completion_tokens: z.number().int().nullable().optional(),
  tools: z.array(z.object({ type: z.literal('function'), function: z.object({ name: z.string(), description: z.string().optional(), parameters: z.record(z.string(), z.unknown()).optional(), strict: z.boolean().nullable().optional() }) })).optional(),
  tool_choice: z.union([z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), function: z.object({ name: z.string() }) })]).optional(),
  response_format: z.union([
    z.object({ type: z.enum(['text', 'json_object']) }),
    z.object({ type: z.literal('json_schema'), json_schema: z.object({ name: z.string(), description: z.string().optional(), schema: z.record(z.string(), z.unknown()).optional(), strict: z.boolean().nullable().optional() }) })
  ]).optional()
})
export type ChatCompletionBody = z.infer<typeof chatCompletionBody>

export const completionBody = z.object({
  ...sampling,
  prompt: z.union([z.string(), z.array(z.string()).length(1)]),
  echo: z.boolean().nullable().optional(),
  suffix: z.string().nullable().optional()
})
export type CompletionBody = z.infer<typeof completionBody>

export const embeddingBody = z.object({
  model: z.string().min(1),
  input: z.union([z.string(), z.array(z.string()).min(1)]),
  encoding_format: z.enum(['float', 'base64']).optional(),
  dimensions: z.number().int().optional(),
  user: z.string().optional()
})
