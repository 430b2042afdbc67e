import { randomBytes, timingSafeEqual } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import { HyperinferError } from '../../shared/errors.js'

export const SESSION_COOKIE = 'hi_session'
export const CSRF_COOKIE = 'hi_csrf'
export const CSRF_HEADER = 'x-csrf-token'

/** No inline script or style, nothing from elsewhere, never framed. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join('; ')

export function securityHeaders (_req: FastifyRequest, reply: FastifyReply, done: () => void): void {
  reply.header('content-security-policy', CONTENT_SECURITY_POLICY)
  reply.header('x-content-type-options', 'nosniff')
  reply.header('x-frame-options', 'DENY')
  reply.header('referrer-policy', 'no-referrer')
  reply.header('cross-origin-opener-policy', 'same-origin')
  reply.header('cross-origin-resource-policy', 'same-origin')
  done()
}

/** Gives every browser a CSRF token cookie (readable by our scripts, which echo it in X-CSRF-Token). */
export function ensureCsrfCookie (req: FastifyRequest, reply: FastifyReply, secure: boolean): string {
  const existing = req.cookies[CSRF_COOKIE]
  if (existing && /^[A-Za-z0-9_-]{32,64}$/.test(existing)) return existing
  const token = randomBytes(24).toString('base64url')
  reply.setCookie(CSRF_COOKIE, token, { path: '/', sameSite: 'strict', httpOnly: false, secure })
  req.cookies[CSRF_COOKIE] = token
  return token
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE'])

/**
 * Decided on the route the request reached, not on its raw URL: `/%61pi/...`, `//api/...` or any
 * other spelling that routes to an API handler is checked like `/api/...`. Outside the API, a
 * request that carries the session cookie is checked too.
 */
export function needsCsrfCheck (req: FastifyRequest): boolean {
  const route = req.routeOptions.url ?? ''
  return route.startsWith('/api/') || req.cookies[SESSION_COOKIE] !== undefined
}

/**
 * State-changing requests must come from our own pages: same origin (Origin / Sec-Fetch-Site)
 * and an X-CSRF-Token equal to the CSRF cookie (double submit). Requests authorized only by an
 * X-API-Key header carry no ambient authority, so they need no token.
 */
export function checkCsrf (req: FastifyRequest): void {
  if (!UNSAFE.has(req.method)) return
  const origin = req.headers.origin
  if (origin !== undefined && origin !== `http://${req.headers.host}` && origin !== `https://${req.headers.host}`) {
    throw new HyperinferError('FORBIDDEN', 'cross-origin request refused')
  }
  if (req.headers['sec-fetch-site'] === 'cross-site') throw new HyperinferError('FORBIDDEN', 'cross-site request refused')
  if (req.headers['x-api-key'] !== undefined && req.cookies[SESSION_COOKIE] === undefined) return
  const cookie = req.cookies[CSRF_COOKIE]
  const header = req.headers[CSRF_HEADER]
  if (typeof cookie !== 'string' || typeof header !== 'string' || !sameToken(cookie, header)) {
    throw new HyperinferError('FORBIDDEN', 'missing or wrong X-CSRF-Token header (reload the page)')
  }
}

function sameToken (a: string, b: string): boolean {
  const x = Buffer.from(a)
  const y = Buffer.from(b)
  return x.length === y.length && timingSafeEqual(x, y)
}
