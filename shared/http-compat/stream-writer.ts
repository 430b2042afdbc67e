import type { FastifyReply } from 'fastify'

/**
 * Takes over the response for a stream: status 200, the headers set so far (x-request-id) and
 * the content type, flushed at once so clients see the stream start; writes honour back-pressure.
 */
export function openStream (reply: FastifyReply, contentType: string): { write (text: string): Promise<void>, end (text?: string): void, gone (): boolean } {
  reply.hijack()
  const out = reply.raw
  out.writeHead(200, {
    ...reply.getHeaders() as Record<string, string>,
    'content-type': contentType,
    'cache-control': 'no-cache',
    'x-accel-buffering': 'no'
  })
  out.flushHeaders()
  const gone = (): boolean => out.destroyed || out.writableEnded
  // Tokens that arrive together (one mesh frame) leave in one TCP write instead of one each.
  let corked = false
  const uncork = (): void => {
    corked = false
    out.uncork()
  }
  return {
    async write (text) {
      if (gone()) return
      if (!corked) {
        corked = true
        out.cork()
        process.nextTick(uncork)
      }
      if (!out.write(text)) await new Promise<void>(resolve => { out.once('drain', resolve); out.once('close', resolve) })
    },
    end (text) {
      if (!gone()) out.end(text)
    },
    gone
  }
}
