import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { SignJWT, jwtVerify } from 'jose'
import { HyperinferError } from '../../shared/errors.js'
import { writeSecretFile } from '../../shared/store/private-files.js'

const ISSUER = 'hyperinfer-auth'
const AUDIENCE = 'hyperinfer'

export interface SessionClaims {
  userId: string
  /** Password change time (ms) when the token was issued: a password change ends older sessions. */
  passwordVersion: number
}

/** A verified token also names its session, which the auth node keeps until logout or expiry. */
export interface VerifiedSession extends SessionClaims { sessionId: string }

/** The HS256 secret: from config, else a random one kept in the data dir (created on first start). */
export function loadJwtSecret (dataDir: string, configured?: string): Uint8Array {
  if (configured) return new TextEncoder().encode(configured)
  const file = join(dataDir, 'jwt-secret')
  if (!existsSync(file)) writeSecretFile(file, randomBytes(48).toString('base64url'), 'wx')
  return new TextEncoder().encode(readFileSync(file, 'utf8').trim())
}

export class Sessions {
  private readonly secret: Uint8Array
  private readonly ttlSeconds: number

  constructor (secret: Uint8Array, ttlSeconds: number) {
    this.secret = secret
    this.ttlSeconds = ttlSeconds
  }

  async issue (claims: SessionClaims): Promise<{ token: string, expiresAt: string, sessionId: string, expiresAtMs: number }> {
    const now = Math.floor(Date.now() / 1000)
    const exp = now + this.ttlSeconds
    const sessionId = randomBytes(16).toString('base64url')
    const token = await new SignJWT({ pwv: claims.passwordVersion })
      .setJti(sessionId)
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.secret)
    return { token, expiresAt: new Date(exp * 1000).toISOString(), sessionId, expiresAtMs: exp * 1000 }
  }

  /** The claims of a valid token; UNAUTHENTICATED for an expired, forged or malformed one. */
  async verify (token: string): Promise<VerifiedSession> {
    try {
      const { payload } = await jwtVerify(token, this.secret, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] })
      if (typeof payload.sub !== 'string' || typeof payload.pwv !== 'number' || typeof payload.jti !== 'string') throw new Error('missing claims')
      return { userId: payload.sub, passwordVersion: payload.pwv, sessionId: payload.jti }
    } catch (err) {
      const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED'
      throw new HyperinferError('UNAUTHENTICATED', expired ? 'session expired: log in again' : 'invalid session token: log in again')
    }
  }
}
