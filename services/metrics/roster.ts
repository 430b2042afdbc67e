import type { PeerInfo } from '../../shared/mesh/discovery.js'
import type { NodeRole } from '../../shared/mesh/topic.js'
import type { HealthResponse } from '../../shared/schemas/mesh.js'
import type { MeshNodeHealth, NodeStatus } from '../../shared/schemas/metrics.js'
import type { Family } from './exposition.js'
import { servedModels } from '../../shared/schemas/health-details.js'

/** Length of the public key prefix used as the `node` label. */
export const NODE_LABEL_LENGTH = 12

export function nodeLabel (publicKeyHex: string): string {
  return publicKeyHex.slice(0, NODE_LABEL_LENGTH)
}

export interface NodeRecord {
  readonly id: string
  readonly publicKey: Buffer
  readonly role: NodeRole
  health?: HealthResponse
  /** When `health` was answered. */
  healthAt: number
  /** What discovery last said; 'down' also when discovery forgot the node. */
  reachable: boolean
  lastSeen: number
  downSince: number | null
  scrape: { ok: boolean, error?: string, at: number | null }
  /** When a scrape last worked (0: never). */
  scrapedAt: number
  /** The families of its last good scrape (kept through a failed scrape or two, dropped when down). */
  families: Family[]
}

/**
 * Every node the metrics node has seen, down ones included until `downRetentionMs` after they
 * went silent (discovery forgets silent peers after a few probes; operators need to see them).
 */
export class Roster {
  private readonly records = new Map<string, NodeRecord>()
  private readonly downRetentionMs: number
  private readonly now: () => number

  constructor (opts: { downRetentionMs: number, now?: () => number }) {
    this.downRetentionMs = opts.downRetentionMs
    this.now = opts.now ?? Date.now
  }

  /** A peer discovery reports as answering. */
  up (peer: PeerInfo): NodeRecord {
    const record = this.record(peer.publicKey, peer.role)
    if (peer.health && peer.lastSeen >= record.healthAt) {
      record.health = peer.health
      record.healthAt = peer.lastSeen
    }
    record.lastSeen = Math.max(record.lastSeen, peer.lastSeen)
    record.reachable = true
    record.downSince = null
    return record
  }

  /** A peer that stopped answering (or that discovery forgot). */
  down (id: string): void {
    const record = this.records.get(id)
    if (!record || !record.reachable) return
    record.reachable = false
    record.downSince = this.now()
    record.families = []
  }

  /** Brings the roster in line with what discovery knows of a role. */
  sync (role: NodeRole, known: readonly PeerInfo[]): void {
    const present = new Set<string>()
    for (const peer of known) {
      present.add(peer.id)
      if (peer.status === 'up') this.up(peer)
      else this.down(peer.id)
    }
    for (const record of this.records.values()) {
      if (record.role === role && !present.has(record.id)) this.down(record.id)
    }
  }

  scraped (id: string, families: Family[]): void {
    const record = this.records.get(id)
    if (!record) return
    const now = this.now()
    record.scrape = { ok: true, at: now }
    record.scrapedAt = now
    record.families = families
    record.lastSeen = now
  }

  scrapeFailed (id: string, error: string): void {
    const record = this.records.get(id)
    if (!record) return
    record.scrape = { ok: false, error: error.slice(0, 500), at: this.now() }
  }

  /** Families of live nodes scraped successfully within `maxAgeMs`. */
  fresh (maxAgeMs: number): NodeRecord[] {
    const cutoff = this.now() - maxAgeMs
    return this.all().filter(record => record.reachable && record.scrapedAt >= cutoff && record.families.length > 0)
  }

  /** Forgets nodes down for longer than the retention; returns them. */
  prune (): NodeRecord[] {
    const cutoff = this.now() - this.downRetentionMs
    const gone: NodeRecord[] = []
    for (const record of this.records.values()) {
      if (record.downSince !== null && record.downSince < cutoff) {
        this.records.delete(record.id)
        gone.push(record)
      }
    }
    return gone
  }

  all (): NodeRecord[] {
    return [...this.records.values()]
  }

  reachable (): NodeRecord[] {
    return this.all().filter(record => record.reachable)
  }

  private record (publicKey: Buffer, role: NodeRole): NodeRecord {
    const id = publicKey.toString('hex')
    let record = this.records.get(id)
    if (!record || record.role !== role) {
      record = { id, publicKey, role, healthAt: 0, reachable: false, lastSeen: 0, downSince: null, scrape: { ok: false, at: null }, scrapedAt: 0, families: [] }
      this.records.set(id, record)
    }
    return record
  }
}

export function statusOf (record: NodeRecord): NodeStatus {
  if (!record.reachable) return 'down'
  if (record.health?.status === 'degraded') return 'degraded'
  if (record.scrape.at !== null && !record.scrape.ok) return 'degraded'
  return 'up'
}

export function modelsOf (health: HealthResponse | undefined): string[] {
  return servedModels(health?.details)
}

export function describe (record: NodeRecord, now: number, self = false): MeshNodeHealth {
  const iso = (ms: number | null): string | null => ms ? new Date(ms).toISOString() : null
  return {
    publicKey: record.id,
    node: nodeLabel(record.id),
    role: record.role,
    status: statusOf(record),
    version: record.health?.version ?? null,
    // The node's own count at its last answer plus the time since, so clocks of other machines do not matter.
    uptimeSeconds: record.health && record.reachable
      ? record.health.uptimeSeconds + Math.max(0, Math.round((now - record.healthAt) / 1000))
      : null,
    startedAt: record.health?.startedAt ?? null,
    lastSeen: iso(record.lastSeen),
    lastSeenAgoMs: record.lastSeen ? Math.max(0, now - record.lastSeen) : null,
    models: modelsOf(record.health),
    scrape: { ok: record.scrape.ok, ...(record.scrape.error ? { error: record.scrape.error } : {}), at: iso(record.scrape.at) },
    self
  }
}
