import { HyperinferError } from '../errors.js'
import type { Logger } from '../log.js'
import { approvedNodes } from '../schemas/auth.js'
import type { NodeRegistryView } from './access.js'
import type { Discovery, PeerInfo } from './discovery.js'
import { probeHealth, type PeerClient } from './peer-client.js'
import type { NodeRole } from './topic.js'

const APPROVED_CACHE_MS = 5_000
const RETRY_MS = 200
/**
 * A first dial that has not opened by then is redialled: hyperdht 6.33-6.34's same-host race
 * (holepunchto/hyperdht#304, see dht.ts) stalled such dials ~13 s; a redial got through.
 */
const FIRST_DIAL_PROBE_MS = 2_000

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
  private readonly approvedByRole = new Map<NodeRole, { keys: Set<string>, at: number }>()
  private readonly refused = new Set<string>()
  private warnedUnpinned = false
  private authReached = false

  constructor (opts: CalleeCheckOptions) {
    this.opts = opts
  }

  get pinned (): Buffer | undefined { return this.opts.authKey }

  /** The auth node to send passwords and session tokens to. */
  async auth (timeoutMs = 15_000): Promise<Buffer> {
    if (this.opts.authKey) {
      if (!this.authReached) await this.reach(this.opts.authKey, timeoutMs)
      return this.opts.authKey
    }
    this.warnUnpinned()
    const [auth] = await this.opts.discovery.waitFor('auth', { timeoutMs })
    return auth.publicKey
  }

  /** Whether the key is approved for the role (the pinned auth key always is, for `auth`). */
  async isApproved (role: NodeRole, publicKey: Buffer): Promise<boolean> {
    const id = publicKey.toString('hex')
    if (!this.opts.authKey) {
      // Unpinned, a replica proves nothing: it may be a rogue auth node's.
      this.warnUnpinned()
      return true
    }
    if (role === 'auth') return this.opts.authKey.equals(publicKey)
    const registry = this.opts.registry?.()
    if (registry) return registry.isApproved(role, id)
    const keys = await this.approvedKeys(role, APPROVED_CACHE_MS)
    // A key approved a moment ago: ask again, at most every RETRY_MS.
    return keys.has(id) || (await this.approvedKeys(role, RETRY_MS)).has(id)
  }

  /** The approved keys of a role as the pinned auth node lists them, cached up to maxAgeMs. */
  private async approvedKeys (role: NodeRole, maxAgeMs: number): Promise<Set<string>> {
    const cached = this.approvedByRole.get(role)
    if (cached && Date.now() - cached.at <= maxAgeMs) return cached.keys
    const { publicKeys } = await this.opts.client(await this.auth()).call(approvedNodes, { role })
    const keys = new Set(publicKeys)
    this.approvedByRole.set(role, { keys, at: Date.now() })
    return keys
  }

  /** Live peers of a role that are approved for it; waits for one up to timeoutMs. */
  async peers (role: NodeRole, timeoutMs = 15_000): Promise<PeerInfo[]> {
    if (this.opts.authKey && !this.opts.registry?.()) return this.dialApproved(role, timeoutMs)
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

  /**
   * Without a replica (the CLI, the client library): the pinned auth node names the approved keys,
   * and those are dialled by key; whatever else announces on the topic is never contacted.
   * Peers discovery already has up are used first.
   */
  private async dialApproved (role: NodeRole, timeoutMs: number): Promise<PeerInfo[]> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const approved = await this.approvedKeys(role, RETRY_MS)
      for (const peer of this.opts.discovery.peers(role)) if (!approved.has(peer.id)) this.noteRefused(role, peer)
      const known = this.opts.discovery.peers(role).filter(peer => approved.has(peer.id))
      if (known.length > 0) return known
      const probeMs = Math.min(FIRST_DIAL_PROBE_MS, Math.max(1, deadline - Date.now()))
      const answers = await Promise.all([...approved].map(async id => {
        const publicKey = Buffer.from(id, 'hex')
        const health = await probeHealth(this.opts.client(publicKey), { timeoutMs: probeMs }).catch(() => null)
        return health?.role === role ? { publicKey, id, role, status: 'up' as const, lastSeen: Date.now(), failures: 0, health } : null
      }))
      const live = answers.filter((peer): peer is NonNullable<typeof peer> => peer !== null)
      if (live.length > 0) return live
      if (Date.now() + RETRY_MS > deadline) {
        throw new HyperinferError('UNAVAILABLE', `no approved ${role} node answered within ${timeoutMs} ms (${approved.size} approved by the auth node)`)
      }
      await new Promise(resolve => setTimeout(resolve, RETRY_MS))
    }
  }

  /** Dials the pinned auth node (by its key, no lookup) until it answers a health probe. */
  private async reach (publicKey: Buffer, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      try {
        const answer = await probeHealth(this.opts.client(publicKey), { timeoutMs: Math.min(FIRST_DIAL_PROBE_MS, Math.max(1, deadline - Date.now())) })
        if (answer.role !== 'auth') throw new HyperinferError('FORBIDDEN', `the pinned auth key ${publicKey.toString('hex').slice(0, 12)}… belongs to a ${answer.role} node`)
        this.authReached = true
        return
      } catch (err) {
        if (err instanceof HyperinferError && err.code === 'FORBIDDEN') throw err
        if (Date.now() >= deadline) {
          throw new HyperinferError('UNAVAILABLE', `the pinned auth node ${publicKey.toString('hex').slice(0, 12)}… did not answer within ${timeoutMs} ms; is it running?`)
        }
      }
    }
  }

  private noteRefused (role: NodeRole, peer: PeerInfo): void {
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
