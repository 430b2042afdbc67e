// A fake OpenAI-compatible API on 127.0.0.1 for tests and benches: SSE /v1/chat/completions (a usage
// chunk when stream_options.include_usage), /v1/models, /v1/embeddings; errors switched by `fake.mode`.
// Run alone: node --import=tsx scripts/fakes/openai-server.ts [--port N] [--delay MS]
import { pathToFileURL } from 'node:url'
import { readJson, replyFor, sendJson, startFake, streamPieces, tokenize, type FakeOptions, type FakeServer } from './common.js'

export type { FakeServer, FakeMode } from './common.js'

export const OPENAI_FAKE_MODELS = ['gpt-fake', 'gpt-fake-mini']

function openaiError (status: number, message: string): { error: { message: string, type: string, code: string | null } } {
  const type = status === 401 ? 'invalid_request_error' : status === 429 ? 'rate_limit_exceeded' : status >= 500 ? 'server_error' : 'invalid_request_error'
  return { error: { message, type, code: status === 404 ? 'model_not_found' : null } }
}

export function startFakeOpenAI (options: FakeOptions = {}): Promise<FakeServer> {
  const models = (): string[] => options.models ?? OPENAI_FAKE_MODELS
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
      const data = input.map((text, index) => ({ object: 'embedding', index, embedding: embedText(text) }))
      const tokens = input.reduce((n, text) => n + tokenize(text).length, 0)
      sendJson(res, 200, { object: 'list', model, data, usage: { prompt_tokens: tokens, total_tokens: tokens } })
      return
    }
    if (req.method === 'POST' && path === '/v1/chat/completions') {
      fake.requests.push({ path, body })
      const messages = (body.messages ?? []) as { content?: unknown }[]
      const input = messages.map(m => String(m.content ?? '')).join('\n')
      const promptTokens = tokenize(input).length
      const all = tokenize(replyFor(options, input))
      const maxTokens = typeof body.max_tokens === 'number' ? body.max_tokens : Infinity
      const pieces = all.slice(0, maxTokens)
      const finishReason = pieces.length < all.length ? 'length' : 'stop'
      const id = `chatcmpl-fake-${fake.requests.length}`
      const created = Math.floor(Date.now() / 1000)
      const chunk = (delta: Record<string, unknown>, finish: string | null): Record<string, unknown> =>
        ({ id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }] })
      if (body.stream !== true) {
        sendJson(res, 200, {
          id, object: 'chat.completion', created, model,
          choices: [{ index: 0, message: { role: 'assistant', content: pieces.join('') }, finish_reason: finishReason, logprobs: null }],
          usage: { prompt_tokens: promptTokens, completion_tokens: pieces.length, total_tokens: promptTokens + pieces.length }
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
        const usage = { prompt_tokens: promptTokens, completion_tokens: pieces.length, total_tokens: promptTokens + pieces.length }
        res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`)
      }
      res.end('data: [DONE]\n\n')
      return
    }
    sendJson(res, 404, openaiError(404, `unknown route ${req.method} ${path}`))
  })
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
