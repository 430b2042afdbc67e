import type { FastifyInstance } from 'fastify'
import { HyperinferError } from '../../../shared/errors.js'
import { gatewayUpstream, openAICompat, type KeyPolicy } from '../../../shared/http-compat/index.js'
import type { WebContext } from '../web-context.js'

/**
 * The OpenAI-compatible API on the dashboard's port. Authorized only by the key in a header
 * (Authorization: Bearer or X-API-Key), never by the session cookie, so it needs no CSRF token.
 */
export async function openAIRoutes (app: FastifyInstance, ctx: WebContext): Promise<void> {
  const upstream = gatewayUpstream({
    call: (def, request) => ctx.upstream.call('gateway', def, request),
    stream: (def, request, signal) => ctx.upstream.stream('gateway', def, request, signal)
  })
  await app.register(openAICompat, { prefix: '/v1', upstream, keyPolicy: requireKey })
}

const requireKey: KeyPolicy = presented => {
  if (presented === null) throw new HyperinferError('UNAUTHENTICATED', 'send your API key as "Authorization: Bearer hi_..." or in X-API-Key; create one on the Keys page or with `hyperinfer keys create`')
  if (presented.length < 8 || presented.length > 256) throw new HyperinferError('UNAUTHENTICATED', 'that is not an API key: keys look like hi_...')
  return presented
}
