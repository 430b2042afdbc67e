import { createHash, randomBytes } from 'node:crypto'
import { API_KEY_PREFIX, DISPLAY_PREFIX_LENGTH } from './records.js'

/** A new API key: `hi_` and 32 random bytes in base64url. */
export function generateApiKey (): string {
  return API_KEY_PREFIX + randomBytes(32).toString('base64url')
}

/** How a key is stored and looked up: its SHA-256 in hex. */
export function hashApiKey (apiKey: string): string {
  return createHash('sha256').update(apiKey, 'utf8').digest('hex')
}

export function displayPrefix (apiKey: string): string {
  return apiKey.slice(0, DISPLAY_PREFIX_LENGTH)
}

/** Cheap shape check before hashing (gateways call this on every request). */
export function looksLikeApiKey (value: unknown): value is string {
  return typeof value === 'string' && value.length >= 40 && value.length <= 128 && value.startsWith(API_KEY_PREFIX)
}
