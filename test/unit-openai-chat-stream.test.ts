import t, { type Test } from 'tap'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { OpenAIChatStream, UpstreamStatusError } from '../services/inference/backends/openai-chat-stream.js'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

async function upstream (t: Test, handler: Handler): Promise<{ chat: OpenAIChatStream, connections: () => number }> {
  let connections = 0
  const server = createServer(handler).on('connection', () => { connections++ })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const chat = new OpenAIChatStream(`http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/`, 'sk-test')
  t.teardown(async () => {
    await chat.close()
    server.closeAllConnections()
    await new Promise(resolve => server.close(resolve))
  })
  return { chat, connections: () => connections }
}

const body = { model: 'm', messages: [{ role: 'user' as const, content: 'hi' }], stream: true as const }

async function collect (chat: OpenAIChatStream): Promise<unknown[]> {
  const chunks: unknown[] = []
  for await (const chunk of await chat.open(body, new AbortController().signal)) chunks.push(chunk)
  return chunks
}

t.test('SSE split anywhere, even inside a multi-byte character, parses into whole chunks; the connection is kept', async t => {
  const event = (text: string): string => `data: ${JSON.stringify({ id: 'c', choices: [{ index: 0, delta: { content: text } }] })}\n\n`
  const wire = Buffer.from(`: keep-alive comment\n\n${event('Grüße ')}${event('🙂')}data: [DONE]\n\n`)
  const { chat, connections } = await upstream(t, (req, res) => {
    t.equal(req.url, '/v1/chat/completions')
    t.equal(req.headers.authorization, 'Bearer sk-test')
    req.resume()
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    // one byte at a time, flushed separately
    let i = 0
    const next = (): void => { if (i < wire.length) res.write(wire.subarray(i, ++i), () => setImmediate(next)); else res.end() }
    next()
  })
  const first = await collect(chat) as Array<{ choices: Array<{ delta: { content: string } }> }>
  t.same(first.map(c => c.choices[0].delta.content), ['Grüße ', '🙂'])
  for (let i = 0; i < 4; i++) await collect(chat)
  // undici may dial a second socket while the first one is being returned to its pool
  t.ok(connections() <= 2, `5 requests over ${connections()} connections: they are kept alive`)
})

t.test('non-2xx answers carry the status, the upstream message and the retry hint', async t => {
  const answers: Array<[number, Record<string, string>, string]> = [
    [429, { 'retry-after-ms': '1500', 'retry-after': '9' }, JSON.stringify({ error: { message: 'slow down', type: 'rate_limit_exceeded' } })],
    [503, { 'retry-after': '7' }, 'Service Unavailable\n'],
    [500, {}, '']
  ]
  let n = 0
  const { chat } = await upstream(t, (_req, res) => {
    const [status, headers, text] = answers[n++]
    res.writeHead(status, headers).end(text)
  })
  const errors: UpstreamStatusError[] = []
  for (let i = 0; i < answers.length; i++) errors.push(await chat.open(body, new AbortController().signal).then(() => { throw new Error('resolved') }, err => err as UpstreamStatusError))
  t.same(errors.map(e => [e instanceof UpstreamStatusError, e.status, e.message, e.retryAfter]), [
    [true, 429, 'slow down', '1.5'],
    [true, 503, 'Service Unavailable', '7'],
    [true, 500, 'HTTP 500', null]
  ])
})

t.test('an error event in the stream fails the stream', async t => {
  const { chat } = await upstream(t, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' })
    res.end(`data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'a' } }] })}\n\ndata: ${JSON.stringify({ error: { message: 'overloaded' } })}\n\n`)
  })
  await t.rejects(collect(chat), /upstream error in the stream: overloaded/)
})
