import type { Discovery, PeerInfo } from '../../shared/mesh/discovery.js'
import type { Logger } from '../../shared/log.js'
import type { PlatformMetrics } from '../../shared/metrics.js'

export interface WorkerState {
  readonly peer: PeerInfo
  outstanding: number
  /** Exponentially weighted time to first token (or to the answer), ms. */
  latencyMs: number
}

export interface WorkerPoolOptions {
  discovery: Discovery
  isApproved (publicKeyHex: string): boolean
  log: Logger
  metrics: PlatformMetrics
}

const LATENCY_WEIGHT = 0.2

/**
 * The inference workers this gateway may route to: found by discovery, live, and on the
 * approved list. Picks by fewest outstanding requests, then lowest latency.
 */
export class WorkerPool {
  private readonly opts: WorkerPoolOptions
  private readonly states = new Map<string, WorkerState>()
  private readonly timer: NodeJS.Timeout

  constructor (opts: WorkerPoolOptions) {
    this.opts = opts
    opts.discovery.watch('inference')
    this.timer = setInterval(() => { this.publishGauges() }, 5_000)
    this.timer.unref()
  }

  /** Live, approved workers that serve `model`, best first. */
  candidates (model: string): WorkerState[] {
    return this.eligible()
      .filter(state => modelsOf(state.peer).includes(model))
      .sort((a, b) => a.outstanding - b.outstanding || a.latencyMs - b.latencyMs)
  }

  /** Every model some eligible worker serves, with how many workers serve it. */
  models (): Map<string, WorkerState[]> {
    const byModel = new Map<string, WorkerState[]>()
    for (const state of this.eligible()) {
      for (const model of modelsOf(state.peer)) {
        const list = byModel.get(model) ?? []
        list.push(state)
        byModel.set(model, list)
      }
    }
    return byModel
  }

  /** Workers found but refused because nobody approved them (for health and logs). */
  unapproved (): PeerInfo[] {
    return this.opts.discovery.peers('inference').filter(peer => !this.opts.isApproved(peer.id))
  }

  /** Looks again right now (after a miss, or when every candidate failed). */
  async refresh (): Promise<void> {
    // Bounded: a model nobody serves fails fast with MODEL_UNAVAILABLE; the round itself finishes in the background.
    await this.opts.discovery.refresh('inference', { maxWaitMs: 1_000 })
  }

  begin (state: WorkerState): void {
    state.outstanding++
  }

  end (state: WorkerState, latencyMs: number | null): void {
    state.outstanding = Math.max(0, state.outstanding - 1)
    if (latencyMs !== null) state.latencyMs = state.latencyMs === 0 ? latencyMs : state.latencyMs * (1 - LATENCY_WEIGHT) + latencyMs * LATENCY_WEIGHT
  }

  /** A call to the worker failed at the transport level: probe it now so it is evicted if dead. */
  reportFailure (state: WorkerState): void {
    this.opts.discovery.reportFailure('inference', state.peer.publicKey)
  }

  close (): void {
    clearInterval(this.timer)
  }

  private eligible (): WorkerState[] {
    const live: WorkerState[] = []
    const peers = this.opts.discovery.peers('inference')
    const liveIds = new Set(peers.map(peer => peer.id))
    // Requests still running on a dropped worker hold their own reference to its state.
    for (const id of this.states.keys()) if (!liveIds.has(id)) this.states.delete(id)
    for (const peer of peers) {
      if (!this.opts.isApproved(peer.id)) continue
      let state = this.states.get(peer.id)
      if (!state || state.peer !== peer) {
        state = { peer, outstanding: state?.outstanding ?? 0, latencyMs: state?.latencyMs ?? 0 }
        this.states.set(peer.id, state)
      }
      live.push(state)
    }
    return live
  }

  private publishGauges (): void {
    const { workers } = this.opts.metrics
    workers.reset()
    for (const [model, states] of this.models()) workers.set({ model, state: 'up' }, states.length)
    for (const peer of this.unapproved()) for (const model of modelsOf(peer)) workers.inc({ model, state: 'unapproved' })
  }
}

export function modelsOf (peer: PeerInfo): string[] {
  const models = peer.health?.details?.models
  return Array.isArray(models) ? models.filter((m): m is string => typeof m === 'string') : []
}
