import { EventEmitter } from 'node:events'
import type { NodeRegistryView } from '../mesh/access.js'
import type { NodeRole } from '../mesh/topic.js'
import type { NodeRecord, WorkerRecord } from './records.js'

/**
 * The approved nodes per role, indexed from the accounts bee (`nodes/<role>/<key>`, and the older
 * `workers/<key>` read as inference approvals). Emits 'change' on every approval or revocation.
 */
export class NodeRegistry extends EventEmitter implements NodeRegistryView {
  private readonly byRole = new Map<NodeRole, Map<string, NodeRecord>>()
  private readonly legacyWorkers = new Map<string, WorkerRecord>()

  isApproved (role: NodeRole, publicKeyHex: string): boolean {
    const id = publicKeyHex.toLowerCase()
    const record = this.byRole.get(role)?.get(id)
    if (record) return record.revokedAt === null
    if (role !== 'inference') return false
    const worker = this.legacyWorkers.get(id)
    return worker !== undefined && worker.revokedAt === null
  }

  /** The roles a key is approved for. */
  rolesOf (publicKeyHex: string): NodeRole[] {
    return (['auth', 'gateway', 'inference', 'metrics', 'web'] as const).filter(role => this.isApproved(role, publicKeyHex))
  }

  /** Approved (not revoked) keys of a role. */
  approved (role: NodeRole): string[] {
    const keys = new Set<string>()
    if (role === 'inference') for (const [id, w] of this.legacyWorkers) if (w.revokedAt === null) keys.add(id)
    for (const [id, record] of this.byRole.get(role) ?? []) {
      if (record.revokedAt === null) keys.add(id)
      else keys.delete(id)
    }
    return [...keys]
  }

  /** @internal an entry of the accounts bee under nodes/ */
  applyNode (key: string, value: NodeRecord | null): void {
    const [, role, id] = key.split('/') as [string, NodeRole, string]
    let map = this.byRole.get(role)
    if (!map) this.byRole.set(role, map = new Map())
    if (value) map.set(id, value)
    else map.delete(id)
    this.emit('change')
  }

  /** @internal an entry of the accounts bee under workers/ */
  applyWorker (id: string, value: WorkerRecord | null): void {
    if (value) this.legacyWorkers.set(id, value)
    else this.legacyWorkers.delete(id)
    this.emit('change')
  }
}
