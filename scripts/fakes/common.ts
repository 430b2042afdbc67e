import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

/** How a fake upstream misbehaves; null answers normally. Switch at any time with `fake.mode = ...`. */
export type FakeMode =
  | null
  | { kind: 'status', status: number, message?: string, retryAfter?: string }
  /** Stream this many chunks, then destroy the connection without an ending. */
  | { kind: 'cut', afterChunks: number }
  /** Accept the request and never answer (only requests to `paths`, when given). */
  | { kind: 'hang', paths?: string[] }

export interface FakeOptions {
  /** Models the fake serves; others get 404. */
  models?: string[]
  /** The text streamed back (split into word-sized tokens); default a short story. */
  reply?: string | ((input: string) => string)
  /**
   * The call the fake makes when a request offers tools (and tool_choice is not "none") and the last
   * message is not a tool's answer; default: the first tool, with `{"city":"Paris"}`.
   */
  toolCall?: (toolNames: string[]) => { name: string, arguments: Record<string, unknown> }
  /** Before streaming piece `index`, wait for `until` (tests show pieces reach clients before the stream ends). */
  hold?: { index: number, until: Promise<void> }
  /** Pause between streamed tokens (0: answer at once). */
  tokenDelayMs?: number
  port?: number
}

export interface FakeServer {
  url: string
  mode: FakeMode
  options: FakeOptions
  /** Generation requests received (chat, generate, completions), in order. */
  readonly requests: { path: string, body: Record<string, unknown> }[]
  /** Streams whose client went away before the stream ended. */
  readonly clientAborts: number
  /** Requests held open by mode 'hang' right now (a hanging request is not in `requests`). */
  readonly hangingNow: number
  close (): Promise<void>
}

export const DEFAULT_REPLY = 'Once upon a time there was a little fake server that answered every request with the same short story.'

/** Word-sized tokens: each piece is a word with its leading space, the way BPE tokens usually look. */
export function tokenize (text: string): string[] {
  return text.match(/\s*\S+/g) ?? []
}

export function replyFor (options: FakeOptions, input: string): string {
  const reply = options.reply ?? DEFAULT_REPLY
  return typeof reply === 'function' ? reply(input) : reply
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

export async function readJson (req: IncomingMessage): Promise<Record<string, unknown>> {
  const parts: Buffer[] = []
  for await (const part of req) parts.push(part as Buffer)
  const text = Buffer.concat(parts).toString('utf8')
  return text === '' ? {} : JSON.parse(text) as Record<string, unknown>
}

export function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

type Handler = (req: IncomingMessage, res: ServerResponse, fake: FakeServer & { noteAbort (): void }) => Promise<void>

/** An HTTP server on 127.0.0.1 with the shared bookkeeping; `route` speaks the protocol. */
export async function startFake (options: FakeOptions, route: Handler): Promise<FakeServer> {
  const hanging = new Set<ServerResponse>()
  let aborts = 0
  const fake: FakeServer & { noteAbort (): void } = {
    url: '',
    mode: null,
    options,
    requests: [],
    get clientAborts () { return aborts },
    get hangingNow () { return hanging.size },
    noteAbort () { aborts++ },
    close: async () => {
      for (const res of hanging) res.destroy()
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => { resolve() }))
    }
  }
  const server: Server = createServer((req, res) => {
    const mode = fake.mode
    if (mode?.kind === 'hang' && (mode.paths === undefined || mode.paths.includes(new URL(req.url ?? '/', 'http://x').pathname))) {
      hanging.add(res)
      res.on('close', () => hanging.delete(res))
      req.resume()
      return
    }
    route(req, res, fake).catch(err => {
      if (!res.headersSent) sendJson(res, 500, { error: String((err as Error).message) })
      else res.destroy()
    })
  })
  await new Promise<void>(resolve => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return fake
}

/**
 * Writes `pieces` one by one (each through `frame`), pausing `tokenDelayMs` between them, honouring
 * a 'cut' mode; returns how many were written, or null when the client went away first.
 */
export async function streamPieces (res: ServerResponse, fake: FakeServer & { noteAbort (): void }, pieces: string[], frame: (piece: string, index: number) => string): Promise<number | null> {
  let gone = false
  res.on('close', () => { if (!res.writableFinished) gone = true })
  const mode = fake.mode
  for (let i = 0; i < pieces.length; i++) {
    if (gone) {
      fake.noteAbort()
      return null
    }
    if (mode?.kind === 'cut' && i === mode.afterChunks) {
      // let what was written reach the client first: destroy() drops unflushed writes
      await new Promise<void>(resolve => res.write('', () => { resolve() }))
      await sleep(20)
      res.destroy()
      return null
    }
    if (fake.options.hold?.index === i) await fake.options.hold.until
    res.write(frame(pieces[i], i))
    const delay = fake.options.tokenDelayMs ?? 0
    if (delay > 0) await sleep(delay)
    else if (i % 32 === 31) await new Promise(resolve => setImmediate(resolve))
  }
  if (gone) {
    fake.noteAbort()
    return null
  }
  return pieces.length
}

/** The tool call a request asks for, if any: tools offered, not switched off, and not already answered. */
export function pickToolCall (options: FakeOptions, body: Record<string, unknown>): { name: string, arguments: Record<string, unknown> } | null {
  const tools = Array.isArray(body.tools) ? body.tools as { function?: { name?: unknown } }[] : []
  const names = tools.map(t => String(t.function?.name ?? '')).filter(n => n !== '')
  const messages = Array.isArray(body.messages) ? body.messages as { role?: unknown }[] : []
  if (names.length === 0 || body.tool_choice === 'none' || messages.at(-1)?.role === 'tool') return null
  const forced = (body.tool_choice as { function?: { name?: unknown } } | undefined)?.function?.name
  if (typeof forced === 'string') return options.toolCall?.([forced]) ?? { name: forced, arguments: { city: 'Paris' } }
  return options.toolCall?.(names) ?? { name: names[0], arguments: { city: 'Paris' } }
}
