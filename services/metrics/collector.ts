import type { MeshNode } from '../../shared/mesh/mesh-node.js'
import type { PeerInfo } from '../../shared/mesh/discovery.js'
import { ROLES } from '../../shared/mesh/topic.js'
import type { NodeStatus, SystemHealthResponse } from '../../shared/schemas/metrics.js'
import { parseExposition } from './exposition.js'
import { mergeSources, type ScrapedSource } from './merge.js'
import { scrapeMetrics, type ScrapeMetrics } from './own-metrics.js'
import { describe, nodeLabel, Roster, statusOf, type NodeRecord } from './roster.js'
import { scrapeNode } from './scrape.js'

export interface CollectorOptions {
  scrapeIntervalMs: number
  scrapeTimeoutMs: number
  downRetentionMs: number
  maxScrapeBytes: number
}

/**
 * Watches every role on the mesh, scrapes each live node's registry on an interval (all at
 * once, each bounded by a timeout), and keeps what it learnt for /metrics and systemHealth.
 */
export class Collector {
  readonly roster: Roster
  private readonly node: MeshNode
  private readonly opts: CollectorOptions
  private readonly own: ScrapeMetrics
  private timer: NodeJS.Timeout | null = null
  private round: Promise<void> | null = null
  private rounds = 0
  private stopped = false

  constructor (node: MeshNode, opts: CollectorOptions) {
    this.node = node
    this.opts = opts
    this.roster = new Roster({ downRetentionMs: opts.downRetentionMs })
    this.own = scrapeMetrics(node.registry)
  }

  /** True once a scrape round has completed. */
  get ready (): boolean {
    return this.rounds > 0
  }

  start (): void {
    const { discovery } = this.node
    discovery.on('up', this.onUp)
    discovery.on('down', this.onDown)
    // A scrape that fails probes the node at once: the scrapes are this node's liveness checks.
    for (const role of ROLES) discovery.watch(role, { slowProbes: true })
    void this.scrapeNow()
  }

  /** Runs a scrape round now (or joins the one running). */
  scrapeNow (): Promise<void> {
    this.round ??= this.scrapeRound().finally(() => {
      this.round = null
      this.rounds++
      this.schedule()
    })
    return this.round
  }

  async stop (): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.node.discovery.off('up', this.onUp)
    this.node.discovery.off('down', this.onDown)
    await this.round
  }

  /** Prometheus text of the whole mesh: every live node's last scrape plus this node's registry. */
  async exposition (): Promise<string> {
    const selfId = this.node.publicKey.toString('hex')
    this.own.nodeUp.labels({ node: nodeLabel(selfId), role: this.node.role }).set(1)
    const sources: ScrapedSource[] = [{
      node: nodeLabel(selfId),
      role: this.node.role,
      // Empty families too: the metrics node's own types decide a family's type, whatever order nodes were scraped in.
      families: parseExposition(await this.node.registry.metrics(), { keepEmpty: true }).families,
      honorLabels: true
    }]
    // A node whose scrape failed once or twice keeps its last samples a little while: no gaps for one slow answer.
    const maxAgeMs = 3 * this.opts.scrapeIntervalMs + this.opts.scrapeTimeoutMs
    for (const record of this.roster.fresh(maxAgeMs)) {
      sources.push({ node: nodeLabel(record.id), role: record.role, families: record.families })
    }
    return mergeSources(sources).text
  }

  systemHealth (): SystemHealthResponse {
    // Discovery probes nodes between scrape rounds: a gateway that found its first worker shows as up
    // from the next probe, not up to a scrape interval later.
    this.syncWithDiscovery()
    const now = Date.now()
    const self = this.node.health()
    const selfRecord: NodeRecord = {
      id: self.publicKey,
      publicKey: this.node.publicKey,
      role: this.node.role,
      health: self,
      healthAt: now,
      reachable: true,
      lastSeen: now,
      downSince: null,
      scrape: { ok: true, at: now },
      scrapedAt: now,
      families: []
    }
    const nodes = [describe(selfRecord, now, true), ...this.roster.all().map(record => describe(record, now))]
      .sort((a, b) => a.role.localeCompare(b.role) || a.publicKey.localeCompare(b.publicKey))
    const counts: SystemHealthResponse['counts'] = {}
    for (const node of nodes) {
      counts[node.role] ??= { up: 0, degraded: 0, down: 0 }
      counts[node.role][node.status]++
    }
    const up = nodes.filter(n => n.status === 'up').length
    const status: NodeStatus = up === nodes.length ? 'up' : up === 0 ? 'down' : 'degraded'
    return { generatedAt: new Date(now).toISOString(), status, nodes, counts }
  }

  private readonly onUp = (peer: PeerInfo): void => {
    this.roster.up(peer)
    this.updateUpGauge()
  }

  private readonly onDown = (peer: PeerInfo): void => {
    this.roster.down(peer.id)
    this.updateUpGauge()
  }

  private schedule (): void {
    if (this.stopped) return
    if (this.timer) clearTimeout(this.timer)
    this.timer = setTimeout(() => { void this.scrapeNow() }, this.opts.scrapeIntervalMs)
    this.timer.unref()
  }

  private async scrapeRound (): Promise<void> {
    this.syncWithDiscovery()
    await Promise.all(this.roster.reachable().map(record => this.scrapeOne(record)))
    for (const gone of this.roster.prune()) this.own.nodeUp.remove({ node: nodeLabel(gone.id), role: gone.role })
    this.updateUpGauge()
  }

  private syncWithDiscovery (): void {
    for (const role of ROLES) this.roster.sync(role, this.node.discovery.known(role))
  }

  private async scrapeOne (record: NodeRecord): Promise<void> {
    const endTimer = this.own.duration.startTimer({ role: record.role })
    const result = await scrapeNode(this.node.client(record.publicKey), {
      timeoutMs: this.opts.scrapeTimeoutMs,
      maxBytes: this.opts.maxScrapeBytes
    })
    endTimer()
    if (result.skipped > 0) this.own.skippedLines.inc({ role: record.role }, result.skipped)
    if (result.ok) {
      this.roster.scraped(record.id, result.families)
      return
    }
    this.own.errors.inc({ role: record.role, reason: result.reason })
    this.roster.scrapeFailed(record.id, result.message)
    this.node.log.debug({ peer: nodeLabel(record.id), role: record.role, reason: result.reason }, 'scrape failed')
    // A node that stopped answering is probed at once, so it shows as down within seconds.
    if (result.reason !== 'parse' && result.reason !== 'too_large') this.node.discovery.reportFailure(record.role, record.publicKey)
  }

  private updateUpGauge (): void {
    for (const record of this.roster.all()) {
      this.own.nodeUp.labels({ node: nodeLabel(record.id), role: record.role }).set(statusOf(record) === 'down' ? 0 : 1)
    }
  }
}
