// A fake Ollama server on 127.0.0.1 for tests and benches: NDJSON streaming /api/chat and
// /api/generate, /api/tags, /api/embed; errors switched by `fake.mode`.
// Run alone: node --import=tsx scripts/fakes/ollama-server.ts [--port N] [--delay MS]
import type { ServerResponse } from 'node:http'
import { pathToFileURL } from 'node:url'
import { embedText } from './openai-server.js'
import { pickToolCall, readJson, replyFor, sendJson, startFake, streamPieces, tokenize, type FakeOptions, type FakeServer } from './common.js'

export type { FakeServer, FakeMode } from './common.js'

export const OLLAMA_FAKE_MODELS = ['llama3.2:latest', 'qwen2.5:0.5b']

/** Ollama accepts a name without a tag for `:latest`. */
function known (models: string[], name: string): string | undefined {
  return models.find(m => m === name || m === `${name}:latest`)
}

export function startFakeOllama (options: FakeOptions = {}): Promise<FakeServer> {
  const models = (): string[] => options.models ?? OLLAMA_FAKE_MODELS
  return startFake(options, async (req, res, fake) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname
    const body = req.method === 'POST' ? await readJson(req) : {}
    const mode = fake.mode
    if (mode?.kind === 'status') {
      sendJson(res, mode.status, { error: mode.message ?? `fake error ${mode.status}` }, mode.retryAfter ? { 'retry-after': mode.retryAfter } : {})
      return
    }
    if (req.method === 'GET' && path === '/api/tags') {
      sendJson(res, 200, {
        models: models().map(name => ({
          name, model: name, modified_at: '2026-01-01T00:00:00Z', size: 1_000_000, digest: 'f'.repeat(64),
          details: { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '1B', quantization_level: 'Q4_0' }
        }))
      })
      return
    }
    if (req.method === 'GET' && path === '/api/version') {
      sendJson(res, 200, { version: '0.6.0-fake' })
      return
    }
    const model = String(body.model ?? '')
    if (req.method === 'POST' && ['/api/chat', '/api/generate', '/api/embed'].includes(path) && !known(models(), model)) {
      sendJson(res, 404, { error: `model "${model}" not found, try pulling it first` })
      return
    }
    if (req.method === 'POST' && path === '/api/embed') {
      const input = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')]
      sendJson(res, 200, { model, embeddings: input.map(embedText), prompt_eval_count: input.reduce((n, t) => n + tokenize(t).length, 0) })
      return
    }
    if (req.method === 'POST' && (path === '/api/chat' || path === '/api/generate')) {
      fake.requests.push({ path, body })
      await generate(res, fake, path === '/api/chat', body)
      return
    }
    sendJson(res, 404, { error: `unknown route ${req.method} ${path}` })
  })

  async function generate (res: ServerResponse, fake: FakeServer & { noteAbort (): void }, chat: boolean, body: Record<string, unknown>): Promise<void> {
    const model = String(body.model)
    const input = chat
      ? ((body.messages ?? []) as { content?: unknown }[]).map(m => String(m.content ?? '')).join('\n')
      : String(body.prompt ?? '')
    const all = tokenize(replyFor(options, input))
    const numPredict = (body.options as { num_predict?: unknown } | undefined)?.num_predict
    const pieces = typeof numPredict === 'number' && numPredict >= 0 ? all.slice(0, numPredict) : all
    const doneReason = pieces.length < all.length ? 'length' : 'stop'
    const createdAt = new Date().toISOString()
    const part = (text: string, done: boolean): Record<string, unknown> => chat
      ? { model, created_at: createdAt, message: { role: 'assistant', content: text }, done }
      : { model, created_at: createdAt, response: text, done }
    const final = {
      ...part('', true),
      done_reason: doneReason,
      total_duration: 1_000_000, load_duration: 1000, prompt_eval_count: tokenize(input).length, prompt_eval_duration: 1000,
      eval_count: pieces.length, eval_duration: 1000
    }
    const call = chat ? pickToolCall(options, body) : null
    if (call !== null) {
      // Ollama sends a tool call whole, its arguments as an object, in a message before the final one
      const message = { role: 'assistant', content: '', tool_calls: [{ function: { name: call.name, arguments: call.arguments } }] }
      const last = { ...final, eval_count: 1, done_reason: 'stop' }
      if (body.stream === false) {
        sendJson(res, 200, { ...last, message })
        return
      }
      res.writeHead(200, { 'content-type': 'application/x-ndjson' })
      res.write(JSON.stringify({ model, created_at: createdAt, message, done: false }) + '\n')
      res.end(JSON.stringify(last) + '\n')
      return
    }
    if (body.stream === false) {
      sendJson(res, 200, { ...final, ...(chat ? { message: { role: 'assistant', content: pieces.join('') } } : { response: pieces.join('') }) })
      return
    }
    res.writeHead(200, { 'content-type': 'application/x-ndjson' })
    const written = await streamPieces(res, fake, pieces, piece => JSON.stringify(part(piece, false)) + '\n')
    if (written === null) return
    res.end(JSON.stringify(final) + '\n')
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name: string): number | undefined => {
    const i = process.argv.indexOf(name)
    return i >= 0 ? Number(process.argv[i + 1]) : undefined
  }
  const fake = await startFakeOllama({ port: arg('--port'), tokenDelayMs: arg('--delay') })
  console.log(`fake Ollama on ${fake.url} (models: ${OLLAMA_FAKE_MODELS.join(', ')})`)
}
