import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import fastifyCookie from '@fastify/cookie'
import fastifyStatic from '@fastify/static'
import Fastify, { type FastifyInstance } from 'fastify'
import { HyperinferError } from '../../shared/errors.js'
import type { WebContext } from './web-context.js'
import { fromFastifyError, sendError } from './errors.js'
import { notFoundPage, pageRoutes, PUBLIC_DIR } from './pages.js'
import { adminRoutes } from './routes/admin.js'
import { authRoutes } from './routes/auth.js'
import { inferenceRoutes } from './routes/inference.js'
import { openAIRoutes } from './routes/openai-compat.js'
import { statusRoutes } from './routes/status.js'
import { usageRoutes } from './routes/usage.js'
import { checkCsrf, needsCsrfCheck, securityHeaders } from './security.js'

const UPLOT_DIST = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.esm.js'))

/** The dashboard's HTTP app: pages, static assets (no CDN), the REST API; every error as coded JSON. */
export async function buildWebApp (ctx: WebContext): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024, trustProxy: false, forceCloseConnections: true })
  await app.register(fastifyCookie)
  app.addHook('onRequest', securityHeaders)
  app.addHook('preHandler', async req => {
    if (needsCsrfCheck(req)) checkCsrf(req)
  })

  app.setErrorHandler((err: unknown, req, reply) => {
    if (err instanceof HyperinferError) return sendError(reply, err)
    const fastifyErr = err as { statusCode?: number, code?: string, message: string }
    if (fastifyErr.statusCode === undefined || fastifyErr.statusCode >= 500) {
      ctx.node.log.error({ err, method: req.method, route: req.routeOptions.url }, 'web request failed')
    }
    return sendError(reply, fromFastifyError(fastifyErr))
  })
  app.setNotFoundHandler((req, reply) => {
    if (req.url.startsWith('/api/')) return sendError(reply, new HyperinferError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`))
    return reply.code(404).type('text/html; charset=utf-8').send(notFoundPage())
  })

  await app.register(fastifyStatic, { root: PUBLIC_DIR, prefix: '/assets/', index: false, maxAge: 60_000 })
  await app.register(fastifyStatic, { root: UPLOT_DIST, prefix: '/assets/vendor/uplot/', index: false, decorateReply: false, allowedPath: path => /^\/uPlot\.(esm\.js|min\.css)$/.test(path) })

  pageRoutes(app, ctx.secureCookies)
  authRoutes(app, ctx)
  usageRoutes(app, ctx)
  inferenceRoutes(app, ctx)
  statusRoutes(app, ctx)
  adminRoutes(app, ctx)
  await openAIRoutes(app, ctx)
  return app
}
