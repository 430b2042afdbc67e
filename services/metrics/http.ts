import Fastify, { type FastifyInstance } from 'fastify'
import type { HealthResponse } from '../../shared/schemas/mesh.js'

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export interface MetricsHttpSource {
  exposition (): Promise<string>
  health (): HealthResponse
  readonly ready: boolean
}

export interface MetricsHttp {
  readonly url: string
  readonly port: number
  close (): Promise<void>
}

/** GET /metrics (Prometheus text), /health (this node), /ready (503 until the first scrape). */
export async function startMetricsHttp (source: MetricsHttpSource, opts: { host: string, port: number }): Promise<MetricsHttp> {
  const app: FastifyInstance = Fastify({ logger: false })
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', PROMETHEUS_CONTENT_TYPE)
    reply.header('cache-control', 'no-store')
    return await source.exposition()
  })
  app.get('/health', async () => source.health())
  app.get('/ready', async (_request, reply) => {
    const ready = source.ready
    reply.code(ready ? 200 : 503)
    return { ready }
  })
  await app.listen({ host: opts.host, port: opts.port })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : opts.port
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host
  return {
    url: `http://${host}:${port}`,
    port,
    close: () => app.close()
  }
}
