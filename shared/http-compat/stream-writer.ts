import type { FastifyReply } from 'fastify'

/**
 * Takes over the response for a stream: status 200, the headers set so far (x-request-id) and
 * the content type. What is written in one tick (the headers, the tokens of one mesh frame, often
 * the end as well) leaves in one TCP write; the headers leave by the end of the tick that opened
 * the stream even when nothing else does, so clients see the stream start. Writes honour
 * back-pressure.
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
  const gone = (): boolean => out.destroyed || out.writableEnded
  // One string per tick rather than a corked write per token: a write per token would also be a
  // chunk-size line, the text and a CRLF each in the socket's writev.
  let pending = ''
  let drained: Promise<void> | null = null
  const flush = (): void => {
    flushing = false
    if (gone()) return
    if (pending === '') {
      if (!out.headersSent) out.flushHeaders()
      return
    }
    const text = pending
    pending = ''
    if (!out.write(text)) {
      drained = new Promise<void>(resolve => {
        const done = (): void => {
          drained = null
          out.off('drain', done)
          out.off('close', done)
          resolve()
        }
        out.once('drain', done)
        out.once('close', done)
      })
    }
  }
  let flushing = true
  process.nextTick(flush)
  return {
    async write (text) {
      if (gone()) return
      pending += text
      if (!flushing) {
        flushing = true
        process.nextTick(flush)
      }
      if (drained !== null) await drained
    },
    end (text) {
      if (gone()) return
      const last = pending + (text ?? '')
      pending = ''
      out.end(last)
    },
    gone
  }
}
