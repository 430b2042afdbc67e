import { randomBytes } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SignJWT, jwtVerify } from 'jose'
import { HyperinferError } from '../../shared/errors.js'

const ISSUER = 'hyperinfer-auth'
const AUDIENCE = 'hyperinfer'

export interface SessionClaims {
  userId: string
  /** Password change time (ms) when the token was issued: a password change ends older sessions. */
  passwordVersion: number
}

/** The HS256 secret: from config, else a random one kept in the data dir (created on first start). */
export function loadJwtSecret (dataDir: string, configured?: string): Uint8Array {
  if (configured) return new TextEncoder().encode(configured)
  const file = join(dataDir, 'jwt-secret')
  if (!existsSync(file)) writeFileSync(file, randomBytes(48).toString('base64url'), { mode: 0o600, flag: 'wx' })
  return new TextEncoder().encode(readFileSync(file, 'utf8').trim())
}

export class Sessions {
  private readonly secret: Uint8Array
  private readonly ttlSeconds: number

  constructor (secret: Uint8Array, ttlSeconds: number) {
    this.secret = secret
    this.ttlSeconds = ttlSeconds
  }

  async issue (claims: SessionClaims): Promise<{ token: string, expiresAt: string }> {
    const now = Math.floor(Date.now() / 1000)
    const exp = now + this.ttlSeconds
    const token = await new SignJWT({ pwv: claims.passwordVersion })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(claims.userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .sign(this.secret)
    return { token, expiresAt: new Date(exp * 1000).toISOString() }
  }

  /** The claims of a valid token; UNAUTHENTICATED for an expired, forged or malformed one. */
  async verify (token: string): Promise<SessionClaims> {
    try {
      const { payload } = await jwtVerify(token, this.secret, { issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] })
      if (typeof payload.sub !== 'string' || typeof payload.pwv !== 'number') throw new Error('missing claims')
      return { userId: payload.sub, passwordVersion: payload.pwv }
    } catch (err) {
      const expired = (err as { code?: string }).code === 'ERR_JWT_EXPIRED'
      throw new HyperinferError('UNAUTHENTICATED', expired ? 'session expired: log in again' : 'invalid session token: log in again')
    }
  }
}
