// A fake OpenAI-compatible API on 127.0.0.1 for tests and benches: SSE /v1/chat/completions (a usage
// chunk when stream_options.include_usage; tool calls streamed in fragments when tools are offered), /v1/models,
// /v1/embeddings; errors switched by `fake.mode`.
// Run alone: node --import=tsx scripts/fakes/openai-server.ts [--port N] [--delay MS]
import type { ServerResponse } from 'node:http'
import { pathToFileURL } from 'node:url'
import { commonPrefixLength } from '../../shared/common-prefix.js'
import { pickToolCall, readJson, replyFor, sendJson, startFake, streamPieces, tokenize, type FakeOptions, type FakeServer } from './common.js'

export type { FakeServer, FakeMode } from './common.js'

export const OPENAI_FAKE_MODELS = ['gpt-fake', 'gpt-fake-mini']

function openaiError (status: number, message: string): { error: { message: string, type: string, code: string | null } } {
  const type = status === 401 ? 'invalid_request_error' : status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error'
  return { error: { message, type, code: status === 404 ? 'model_not_found' : null } }
}

/**
 * OpenAI's prompt caching: a prompt of 1,024 tokens or more that starts like an earlier one reports the
 * shared part, in steps of 128 tokens, as `prompt_tokens_details.cached_tokens` (here: the previous prompt).
 */
function cachedTokens (previous: string[], prompt: string[]): number {
  const shared = commonPrefixLength(previous, prompt)
  return shared >= 1024 ? Math.floor(shared / 128) * 128 : 0
}

export function startFakeOpenAI (options: FakeOptions = {}): Promise<FakeServer> {
  const models = (): string[] => options.models ?? OPENAI_FAKE_MODELS
  let previousPrompt: string[] = []
  return startFake(options, async (req, res, fake) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const body = req.method === 'POST' ? await readJson(req) : {}
    const mode = fake.mode
    if (mode?.kind === 'status') {
      sendJson(res, mode.status, openaiError(mode.status, mode.message ?? `fake error ${mode.status}`), mode.retryAfter ? { 'retry-after': mode.retryAfter } : {})
      return
    }
    if (req.method === 'GET' && path === '/v1/models') {
      sendJson(res, 200, { object: 'list', data: models().map(id => ({ id, object: 'model', created: 1_700_000_000, owned_by: 'fake' })) })
      return
    }
    const model = String(body.model ?? '')
    if (req.method === 'POST' && (path === '/v1/chat/completions' || path === '/v1/embeddings') && !models().includes(model)) {
      sendJson(res, 404, openaiError(404, `The model \`${model}\` does not exist or you do not have access to it.`))
      return
    }
    if (req.method === 'POST' && path === '/v1/embeddings') {
      const input = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')]
      // like OpenAI: base64 of little-endian float32 when asked (the openai SDK asks by default)
      const encode = (v: number[]): number[] | string => body.encoding_format === 'base64' ? Buffer.from(new Float32Array(v).buffer).toString('base64') : v
      const data = input.map((text, index) => ({ object: 'embedding', index, embedding: encode(embedText(text)) }))
      const tokens = input.reduce((n, text) => n + tokenize(text).length, 0)
      sendJson(res, 200, { object: 'list', model, data, usage: { prompt_tokens: tokens, total_tokens: tokens } })
      return
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      fake.requests.push({ path, body })
      const messages = (body.messages ?? []) as { content?: unknown }[]
      const input = messages.map(m => String(m.content ?? '')).join('\n')
      const prompt = tokenize(input)
      const promptTokens = prompt.length
      const details = { cached_tokens: cachedTokens(previousPrompt, prompt) }
      previousPrompt = prompt
      const all = tokenize(replyFor(options, input))
      const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : Infinity
      const pieces = all.slice(0, maxTokens)
      const finishReason = pieces.length < all.length ? 'length' : 'stop'
      const id = `chatcmpl-fake-${fake.requests.length}`
      const created = Math.floor(Date.now() / 1000)
      const chunk = (delta: Record<string, unknown>, finish: string | null): Record<string, unknown> =>
        ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })
      const call = pickToolCall(options, body)
      if (call !== null) {
        await answerToolCall(res, fake, body, call, { id, created, model, promptTokens, details })
        return
      }
      if (body.stream !== true) {
        sendJson(res, 200, {
          id, object: 'chat.completion', created, model,
          choices: [{ index: 0, message: { role: 'assistant', content: pieces.join('') }, finish_reason: finishReason, logprobs: null }],
          usage: { prompt_tokens: promptTokens, completion_tokens: pieces.length, total_tokens: promptTokens + pieces.length, prompt_tokens_details: details }
        })
        return
      }
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
      res.write(`data: ${JSON.stringify(chunk({ role: 'assistant', content: '' }, null))}\n\n`)
      const written = await streamPieces(res, fake, pieces, piece => `data: ${JSON.stringify(chunk({ content: piece }, null))}\n\n`)
      if (written === null) return
      res.write(`data: ${JSON.stringify(chunk({}, finishReason))}\n\n`)
      const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true
      if (includeUsage) {
        const usage = { prompt_tokens: promptTokens, completion_tokens: pieces.length, total_tokens: promptTokens + pieces.length, prompt_tokens_details: details }
        res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`)
      }
      res.end('data: [DONE]\n\n')
      return
    }
    sendJson(res, 404, openaiError(404, `unknown route ${req.method} ${path}`))
  })
}

/**
 * A tool call the way OpenAI streams one: the first delta names the call, the arguments follow in
 * fragments, finish_reason is "tool_calls"; or one message when not streamed.
 */
async function answerToolCall (res: ServerResponse, fake: FakeServer & { noteAbort (): void }, body: Record<string, unknown>, call: { name: string, arguments: Record<string, unknown> },
  meta: { id: string, created: number, model: string, promptTokens: number, details: { cached_tokens: number } }): Promise<void> {
  const callId = `call_fake_${meta.id.split('-').pop() ?? '0'}`
  const args = JSON.stringify(call.arguments)
  const fragments = args.match(/.{1,6}/gs) ?? ['']
  const usage = { prompt_tokens: meta.promptTokens, completion_tokens: fragments.length, total_tokens: meta.promptTokens + fragments.length, prompt_tokens_details: meta.details }
  const base = { id: meta.id, object: 'chat.completion.chunk', created: meta.created, model: meta.model }
  if (body.stream !== true) {
    sendJson(res, 200, {
      ...base, object: 'chat.completion',
      choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: callId, type: 'function', function: { name: call.name, arguments: args } }] }, finish_reason: 'tool_calls', logprobs: null }],
      usage
    })
    return
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' })
  const frame = (delta: Record<string, unknown>, finish: string | null): string =>
    `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })}\n\n`
  res.write(frame({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: callId, type: 'function', function: { name: call.name, arguments: '' } }] }, null))
  const written = await streamPieces(res, fake, fragments, fragment => frame({ tool_calls: [{ index: 0, function: { arguments: fragment } }] }, null))
  if (written === null) return
  res.write(frame({}, 'tool_calls'))
  if ((body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true) {
    res.write(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`)
  }
  res.end('data: [DONE]\n\n')
}

/** A deterministic small vector for a text. */
export function embedText (text: string): number[] {
  const v = [0, 0, 0, 0, 0, 0, 0, 0]
  for (let i = 0; i < text.length; i++) v[i % 8] += text.charCodeAt(i) / 1000
  return v
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string): number | undefined => {
    const i = process.argv.indexOf(name)
    return i >= 0 ? Number(process.argv[i + 1]) : undefined
  }
  const fake = await startFakeOpenAI({ port: arg('--port'), tokenDelayMs: arg('--delay') })
  console.log(`fake OpenAI-compatible API on ${fake.url}/v1 (models: ${OPENAI_FAKE_MODELS.join(', ')})`)
}
