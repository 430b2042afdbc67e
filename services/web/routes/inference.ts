import type { FastifyInstance } from 'fastify'
import { HyperinferError, toHyperinferError } from '../../../shared/errors.js'
import { infer } from '../../../shared/schemas/gateway.js'
import { inferenceBody } from '../../../shared/schemas/web.js'
import type { WebContext } from '../web-context.js'
import { errorBody, validate } from '../errors.js'
import { apiKeyOf } from './usage.js'

/**
 * POST /api/inference with X-API-Key: the gateway's infer stream, relayed as SSE when the body
 * asks for `"stream": true` (events `token`, then `done` with the result, or `error`), else one
 * JSON result. Errors before the first token get their own HTTP status; a client that goes away
 * cancels the generation.
 */
export function inferenceRoutes (app: FastifyInstance, ctx: WebContext): void {
  app.post('/api/inference', async (req, reply) => {
    const apiKey = apiKeyOf(req)
    if (!apiKey) throw new HyperinferError('UNAUTHENTICATED', 'send your API key in the X-API-Key header')
    const { stream: wantStream, ...body } = validate(inferenceBody, req.body)
    const known = ctx.accounts()?.lookupKey(apiKey)
    if (known && !known.live) throw new HyperinferError('UNAUTHENTICATED', 'this API key was revoked')

    const abort = new AbortController()
    reply.raw.on('close', () => { if (!reply.raw.writableFinished) abort.abort() })
    const stream = await ctx.upstream.stream('gateway', infer, { apiKey, ...body }, abort.signal)
    if (!wantStream) return await stream.result

    const chunks = stream[Symbol.asyncIterator]()
    const first = await chunks.next()
    if (first.done) await stream.result
    reply.hijack()
    const out = reply.raw
    out.writeHead(200, {
      ...reply.getHeaders() as Record<string, string>,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no'
    })
    const send = (event: string, data: unknown): void => { out.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`) }
    try {
      if (!first.done) send('token', first.value)
      for (let step = await chunks.next(); !step.done; step = await chunks.next()) send('token', step.value)
      send('done', await stream.result)
    } catch (err) {
      const coded = toHyperinferError(err)
      if (coded.code === 'INTERNAL') ctx.node.log.error({ err }, 'inference stream failed')
      send('error', errorBody(coded))
    }
    out.end()
  })
}
