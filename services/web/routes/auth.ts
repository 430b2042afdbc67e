import type { FastifyInstance } from 'fastify'
import { HyperinferError } from '../../../shared/errors.js'
import { changePassword, createKey, listKeys, login, logout, register, revokeKey, rotateKey } from '../../../shared/schemas/auth.js'
import { changePasswordBody, createKeyBody, emptyQuery, keyIdParams, loginBody, registerBody } from '../../../shared/schemas/web.js'
import { currentUser, setSessionCookie, type WebContext } from '../web-context.js'
import { validate } from '../errors.js'
import { ensureCsrfCookie, SESSION_COOKIE } from '../security.js'

/** Accounts, sessions and API keys: thin REST over the auth node's RPC methods. */
export function authRoutes (app: FastifyInstance, ctx: WebContext): void {
  sessionRoutes(app, ctx)
  keyRoutes(app, ctx)
}

/** CSRF token, register, log in and out, who is logged in, change the password. */
function sessionRoutes (app: FastifyInstance, ctx: WebContext): void {
  app.get('/api/auth/csrf', async (req, reply) => ({ token: ensureCsrfCookie(req, reply, ctx.secureCookies) }))

  app.post('/api/auth/register', async (req, reply) => {
    const body = validate(registerBody, req.body)
    // The auth node throttles per end user (this IP), not per web node.
    const user = await ctx.upstream.call('auth', register, { ...body, client: req.ip })
    return reply.code(201).send({ user })
  })

  app.post('/api/auth/login', async (req, reply) => {
    const body = validate(loginBody, req.body)
    const session = await ctx.upstream.call('auth', login, { ...body, client: req.ip })
    setSessionCookie(ctx, reply, session.token, session.expiresAt)
    return { user: session.user, expiresAt: session.expiresAt }
  })

  app.post('/api/auth/logout', async (req, reply) => {
    const token = req.cookies[SESSION_COOKIE]
    // Ended on the auth node, so a copied cookie is worthless too; the cookie goes whatever it answers.
    if (token) {
      await ctx.upstream.call('auth', logout, { token }).catch((err: unknown) => {
        if (!(err instanceof HyperinferError && err.code === 'UNAUTHENTICATED')) ctx.node.log.warn({ err }, 'could not end the session on the auth node')
      })
    }
    reply.clearCookie(SESSION_COOKIE, { path: '/' })
    return { loggedOut: true }
  })

  app.get('/api/auth/me', async (req, reply) => {
    validate(emptyQuery, req.query, 'query')
    const { user } = await currentUser(ctx, req, reply)
    return { user }
  })

  /** For pages: who is logged in, without an error status for guests. */
  app.get('/api/auth/session', async (req, reply) => {
    validate(emptyQuery, req.query, 'query')
    if (!req.cookies[SESSION_COOKIE]) return { user: null }
    try {
      return { user: (await currentUser(ctx, req, reply)).user }
    } catch (err) {
      if (err instanceof HyperinferError && err.code === 'UNAUTHENTICATED') return { user: null }
      throw err
    }
  })

  app.post('/api/auth/password', async (req, reply) => {
    const body = validate(changePasswordBody, req.body)
    const { token } = await currentUser(ctx, req, reply)
    return ctx.upstream.call('auth', changePassword, { token, ...body })
  })

}

/** The logged-in user's API keys. */
function keyRoutes (app: FastifyInstance, ctx: WebContext): void {
  app.get('/api/auth/api-keys', async (req, reply) => {
    validate(emptyQuery, req.query, 'query')
    const { token } = await currentUser(ctx, req, reply)
    const { keys } = await ctx.upstream.call('auth', listKeys, { token })
    return { keys }
  })

  app.post('/api/auth/api-keys', async (req, reply) => {
    const body = validate(createKeyBody, req.body)
    const { token } = await currentUser(ctx, req, reply)
    const key = await ctx.upstream.call('auth', createKey, { token, name: body.name })
    return reply.code(201).header('cache-control', 'no-store').send({ key })
  })

  app.delete('/api/auth/api-keys/:id', async (req, reply) => {
    const { id } = validate(keyIdParams, req.params, 'path')
    const { token } = await currentUser(ctx, req, reply)
    return { key: await ctx.upstream.call('auth', revokeKey, { token, keyId: id }) }
  })

  app.post('/api/auth/api-keys/:id/rotate', async (req, reply) => {
    const { id } = validate(keyIdParams, req.params, 'path')
    const { token } = await currentUser(ctx, req, reply)
    const rotated = await ctx.upstream.call('auth', rotateKey, { token, keyId: id })
    return reply.code(201).header('cache-control', 'no-store').send(rotated)
  })
}
