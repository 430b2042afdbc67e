import { HyperinferError } from '../errors.js'
import type { Logger } from '../log.js'
import { approvedNodes } from '../schemas/auth.js'
import type { NodeRegistryView } from './access.js'
import type { Discovery, PeerInfo } from './discovery.js'
import type { PeerClient } from './rpc-client.js'
import type { Role } from './topic.js'

const APPROVED_CACHE_MS = 5_000
const RETRY_MS = 200

export interface CalleeCheckOptions {
  /** The pinned auth node; without it the first auth node found is trusted (and a warning says so). */
  authKey?: Buffer
  discovery: Discovery
  client (publicKey: Buffer): PeerClient
  log: Logger
  /** A node's replica of the registry once it is open; callers without one ask the pinned auth node. */
  registry?: () => NodeRegistryView | null
}

/**
 * The caller's side of the trust model: an API key, password, session token or prompt goes only to
 * the pinned auth node or to a node the auth node approved for the role it announced. A node on a
 * role topic that is not approved gets nothing, and a warning names it.
 */
export class CalleeCheck {
  private readonly opts: CalleeCheckOptions
  private readonly approvedByRole = new Map<Role, { keys: Set<string>, at: number }>()
  private readonly refused = new Set<string>()
  private warnedUnpinned = false

  constructor (opts: CalleeCheckOptions) {
    this.opts = opts
  }

  get pinned (): Buffer | undefined { return this.opts.authKey }

  /** The auth node to send passwords and session tokens to. */
  async auth (timeoutMs = 15_000): Promise<Buffer> {
    if (this.opts.authKey) return this.opts.authKey
    this.warnUnpinned()
    const [auth] = await this.opts.discovery.waitFor('auth', { timeoutMs })
    return auth.publicKey
  }

  /** Whether the key is approved for the role (the pinned auth key always is, for `auth`). */
  async isApproved (role: Role, publicKey: Buffer): Promise<boolean> {
    const id = publicKey.toString('hex')
    if (role === 'auth' && this.opts.authKey) return this.opts.authKey.equals(publicKey)
    const registry = this.opts.registry?.()
    if (registry) return registry.isApproved(role, id)
    if (!this.opts.authKey) {
      this.warnUnpinned()
      return true
    }
    let cached = this.approvedByRole.get(role)
    if (!cached || (!cached.keys.has(id) && Date.now() - cached.at > RETRY_MS) || Date.now() - cached.at > APPROVED_CACHE_MS) {
      const { publicKeys } = await this.opts.client(this.opts.authKey).call(approvedNodes, { role })
      cached = { keys: new Set(publicKeys), at: Date.now() }
      this.approvedByRole.set(role, cached)
    }
    return cached.keys.has(id)
  }

  /** Live peers of a role that are approved for it; waits for one up to timeoutMs. */
  async peers (role: Role, timeoutMs = 15_000): Promise<PeerInfo[]> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const live = this.opts.discovery.peers(role)
      const found = live.length > 0 ? live : await this.opts.discovery.waitFor(role, { timeoutMs: Math.max(1, deadline - Date.now()) })
      const approved: PeerInfo[] = []
      for (const peer of found) {
        if (await this.isApproved(role, peer.publicKey)) approved.push(peer)
        else this.noteRefused(role, peer)
      }
      if (approved.length > 0) return approved
      if (Date.now() + RETRY_MS > deadline) {
        throw new HyperinferError('UNAVAILABLE', `no approved ${role} node within ${timeoutMs} ms: ${found.length} found on the topic, none approved by the auth node`)
      }
      await new Promise(resolve => setTimeout(resolve, RETRY_MS))
      await this.opts.discovery.refresh(role)
    }
  }

  private noteRefused (role: Role, peer: PeerInfo): void {
    if (this.refused.size > 1_000) this.refused.clear()
    if (this.refused.has(peer.id)) return
    this.refused.add(peer.id)
    this.opts.log.warn({ role, publicKey: peer.id }, `refusing ${role} node ${peer.id.slice(0, 12)}…: announced as ${role} but not approved by the auth node; nothing is sent to it`)
  }

  private warnUnpinned (): void {
    if (this.warnedUnpinned) return
    this.warnedUnpinned = true
    this.opts.log.warn('no pinned auth key: trusting whichever auth node and gateways discovery finds (pass --auth-key / HYPERINFER_AUTH_KEY)')
  }
}
