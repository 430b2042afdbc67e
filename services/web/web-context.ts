import type { FastifyReply, FastifyRequest } from 'fastify'
import type { AccountReplica } from '../../shared/accounts/replica.js'
import { HyperinferError } from '../../shared/errors.js'
import type { MeshNode } from '../../shared/mesh/mesh-node.js'
import { whoami, type UserView } from '../../shared/schemas/auth.js'
import { SESSION_COOKIE } from './security.js'
import type { RoleUpstream } from './role-upstream.js'

/** What every route needs: the mesh, the account replica once it is open, cookie settings. */
export interface WebContext {
  node: MeshNode
  upstream: RoleUpstream
  /** Null until the replica of the accounts bee is open (the auth node may start later). */
  accounts (): AccountReplica | null
  secureCookies: boolean
}

/** The session token from the httpOnly cookie, or UNAUTHENTICATED. */
export function sessionToken (req: FastifyRequest): string {
  const token = req.cookies[SESSION_COOKIE]
  if (!token) throw new HyperinferError('UNAUTHENTICATED', 'log in first')
  return token
}

/** The logged-in user, checked with the auth node (an expired or forged token is refused there). */
export async function currentUser (ctx: WebContext, req: FastifyRequest, reply?: FastifyReply): Promise<{ token: string, user: UserView }> {
  const token = sessionToken(req)
  try {
    return { token, user: await ctx.upstream.call('auth', whoami, { token }) }
  } catch (err) {
    if (reply && err instanceof HyperinferError && err.code === 'UNAUTHENTICATED') reply.clearCookie(SESSION_COOKIE, { path: '/' })
    throw err
  }
}

export function setSessionCookie (ctx: WebContext, reply: FastifyReply, token: string, expiresAt: string): void {
  reply.setCookie(SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'strict',
    secure: ctx.secureCookies,
    expires: new Date(expiresAt)
  })
}
