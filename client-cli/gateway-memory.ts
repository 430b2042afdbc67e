import { createHash } from 'node:crypto'
import type { MeshAddress } from '../shared/config/network.js'
import { readSession, updateSession } from './session.js'

/**
 * The gateway the CLI last reached, per mesh, kept in the session file: the next command dials
 * it directly instead of looking the role up on the DHT, for as long as it answers.
 */
export interface RememberedGateway { mesh: string, publicKey: string }

/** Names a mesh without keeping its secret in clear. */
export function meshId (address: MeshAddress): string {
  const { network, bootstrap, publicNetwork } = address
  const where = publicNetwork ? 'public' : (bootstrap ?? []).map(b => `${b.host}:${b.port}`).join(',')
  return createHash('sha256').update(JSON.stringify([network.name, network.secret ?? null, where])).digest('hex').slice(0, 32)
}

export function rememberedGateway (address: MeshAddress, env: NodeJS.ProcessEnv = process.env): Buffer | null {
  try {
    const saved = readSession(env).lastGateway
    return saved && saved.mesh === meshId(address) && /^[0-9a-f]{64}$/.test(saved.publicKey) ? Buffer.from(saved.publicKey, 'hex') : null
  } catch {
    return null
  }
}

export function rememberGateway (address: MeshAddress, publicKey: Buffer, env: NodeJS.ProcessEnv = process.env): void {
  const entry: RememberedGateway = { mesh: meshId(address), publicKey: publicKey.toString('hex') }
  const saved = readSession(env).lastGateway
  if (saved?.mesh === entry.mesh && saved.publicKey === entry.publicKey) return
  updateSession({ lastGateway: entry }, env)
}

export function forgetGateway (env: NodeJS.ProcessEnv = process.env): void {
  if (readSession(env).lastGateway) updateSession({ lastGateway: undefined }, env)
}
