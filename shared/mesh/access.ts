import { EventEmitter } from 'node:events'
import { HyperinferError } from '../errors.js'
import type { Logger } from '../log.js'
import type { MethodDef } from './method.js'
import { ROLES, type NodeRole } from './topic.js'

/** What a node knows of the auth node's registry of approved nodes (its own bee, or a replica). */
export interface NodeRegistryView {
  /** Whether the key (hex) is approved, and not revoked, for the role. */
  isApproved (role: NodeRole, publicKeyHex: string): boolean
  /** Emitted on every approval or revocation. */
  on (event: 'change', listener: () => void): unknown
  off (event: 'change', listener: () => void): unknown
}

export interface AccessControlOptions {
  /**
   * Unmanaged nodes (no pinned auth key: bare nodes in tests) check nothing and say so at start.
   * Every role started by its program is managed.
   */
  managed: boolean
  /** Admitted past the firewall whatever the registry says: the pinned auth node (it probes health). */
  trustedKeys?: Buffer[]
  registry?: NodeRegistryView
}

/**
 * Who may call what, decided in one place from the caller's Noise public key. Methods declare
 * `callers`; 'anyone' passes, anything else needs a key approved for one of the listed roles.
 * Emits 'change' when the registry changes, so calls in flight are checked again.
 */
export class AccessControl extends EventEmitter {
  readonly managed: boolean
  private readonly trusted: Set<string>
  private registry: NodeRegistryView | null = null
  private readonly onChange = (): void => { this.emit('change') }

  constructor (opts: AccessControlOptions) {
    super()
    this.managed = opts.managed
    this.trusted = new Set((opts.trustedKeys ?? []).map(key => key.toString('hex')))
    if (opts.registry) this.attach(opts.registry)
  }

  /** Until a registry is attached, a managed node refuses every restricted method. */
  attach (registry: NodeRegistryView): void {
    this.registry?.off('change', this.onChange)
    this.registry = registry
    registry.on('change', this.onChange)
    this.emit('change')
  }

  get hasRegistry (): boolean { return this.registry !== null }

  /** The attached registry, for the caller's side of the checks (shared/mesh/access-peers.ts). */
  get registryView (): NodeRegistryView | null { return this.registry }

  allows (def: MethodDef, remotePublicKey: Buffer): boolean {
    if (def.callers === 'anyone' || !this.managed) return true
    const id = remotePublicKey.toString('hex')
    return def.callers.some(role => this.registry?.isApproved(role, id) === true)
  }

  /** Throws FORBIDDEN naming the role the caller is missing. */
  check (def: MethodDef, remotePublicKey: Buffer): void {
    if (this.allows(def, remotePublicKey)) return
    throw forbidden(def, remotePublicKey, this.registry !== null)
  }

  /** A known node of any role, or the pinned auth node. */
  admits (remotePublicKey: Buffer): boolean {
    if (!this.managed) return true
    const id = remotePublicKey.toString('hex')
    if (this.trusted.has(id)) return true
    return ROLES.some(role => this.registry?.isApproved(role, id) === true)
  }

  detach (): void {
    this.registry?.off('change', this.onChange)
    this.registry = null
  }

  warnIfUnmanaged (log: Logger, role: NodeRole): void {
    if (this.managed) return
    log.warn(`${role} node has no pinned auth key: it does not check who calls its internal methods ` +
      '(set network.authKey / --auth-key / HYPERINFER_AUTH_KEY)')
  }
}

export function forbidden (def: MethodDef, remotePublicKey: Buffer, registryKnown = true): HyperinferError {
  const roles = def.callers === 'anyone' ? [] : def.callers
  const key = remotePublicKey.toString('hex')
  const why = registryKnown ? '' : ' (this node has not loaded the node registry yet)'
  return new HyperinferError('FORBIDDEN',
    `${def.name} is only for approved ${roles.join(' or ')} nodes: caller ${key.slice(0, 12)}… is not an approved ${roles.join(' or ')}${why}`,
    { details: { method: def.name, missingRole: roles, caller: key } })
}
