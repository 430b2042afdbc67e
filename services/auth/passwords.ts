import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto'

export interface ScryptParams { N: number, r: number, p: number }

const KEY_LENGTH = 32

function derive (password: string, salt: Buffer, { N, r, p }: ScryptParams): Promise<Buffer> {
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_LENGTH, options, (err, key) => { err ? reject(err) : resolve(key) })
  })
}

/** `scrypt$N$r$p$salt$hash` (base64url), with a fresh 16-byte salt; async so the node stays responsive. */
export async function hashPassword (password: string, params: ScryptParams): Promise<string> {
  const salt = randomBytes(16)
  const hash = await derive(password, salt, params)
  return ['scrypt', params.N, params.r, params.p, salt.toString('base64url'), hash.toString('base64url')].join('$')
}

export async function verifyPassword (password: string, stored: string): Promise<boolean> {
  const [scheme, N, r, p, salt, hash] = stored.split('$')
  if (scheme !== 'scrypt' || !salt || !hash) return false
  const expected = Buffer.from(hash, 'base64url')
  const actual = await derive(password, Buffer.from(salt, 'base64url'), { N: Number(N), r: Number(r), p: Number(p) })
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}

/** Spends the time of one verification, so an unknown user answers like a wrong password. */
export async function burnVerification (password: string, params: ScryptParams): Promise<void> {
  await derive(password, Buffer.alloc(16), params)
}
