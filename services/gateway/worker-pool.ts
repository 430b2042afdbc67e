import { EventEmitter } from 'node:events'
import { HyperinferError } from '../../shared/errors.js'
import type { Discovery, PeerInfo } from '../../shared/mesh/discovery.js'
import type { Logger } from '../../shared/log.js'
import type { PlatformMetrics } from '../../shared/metrics.js'
import type { BackendCapacity, WorkerCapacity } from '../../shared/schemas/capacity.js'
import { capacityInHealth, servedModels } from '../../shared/schemas/health-details.js'
import { CapacityWatch, type FetchCapacity } from './capacity-watch.js'

export interface WorkerState {
  readonly peer: PeerInfo
  outstanding: number
  /** Exponentially weighted time to first token (or to the answer), ms. */
  latencyMs: number
  /** The worker's own account of its backends' slots (pushed by long poll, or from health). */
  capacity: WorkerCapacity | null
  /** Requests this gateway has running on it, per backend. */
  readonly outstandingByBackend: Map<string, number>
  /** Aborted when the worker goes down, so requests on it end at once instead of timing out. */
  readonly leases: Set<AbortController>
  watch: CapacityWatch | null
}

/** One request placed on a worker: `end` it exactly once (`notify` false: a slot given back unused, no 'room' event). */
export interface Lease {
  readonly worker: WorkerState
  readonly signal: AbortSignal
  end (latencyMs: number | null, notify?: boolean): void
}

export interface WorkerPoolOptions {
  discovery: Discovery
  isApproved (publicKeyHex: string): boolean
  log: Logger
  metrics: PlatformMetrics
  /** Long poll of a worker's capacity; without it only this gateway's own count is used. */
  fetchCapacity?: FetchCapacity
}

const LATENCY_WEIGHT = 0.2

/**
 * The inference workers this gateway may route to: found by discovery, live, and on the
 * approved list. Knows each worker's free slots (its pushed capacity and this gateway's own
 * requests) and emits 'room' when a slot may have freed and 'workers' when workers left.
 */
export class WorkerPool extends EventEmitter {
  private readonly opts: WorkerPoolOptions
  private readonly states = new Map<string, WorkerState>()
  private readonly timer: NodeJS.Timeout
  private readonly onUp = (): void => { this.eligible(); this.emit('room') }
  private readonly onDown = (peer: PeerInfo): void => { this.dropped(peer.id) }

  constructor (opts: WorkerPoolOptions) {
    super()
    this.opts = opts
    opts.discovery.watch('inference')
    opts.discovery.on('up', this.onUp)
    opts.discovery.on('down', this.onDown)
    this.timer = setInterval(() => { this.publishGauges() }, 5_000)
    this.timer.unref()
  }

  /** Live, approved workers that serve `model`, best first. */
  candidates (model: string): WorkerState[] {
    return this.eligible()
      .filter(state => modelsOf(state.peer).includes(model))
      .sort((a, b) => a.outstanding - b.outstanding || a.latencyMs - b.latencyMs)
  }

  /** The best worker for `model` with a free slot now, or null. */
  withRoom (model: string, exclude?: ReadonlySet<string>): WorkerState | null {
    return this.candidates(model).find(state => !exclude?.has(state.peer.id) && freeSlots(state, model) > 0) ?? null
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

  /** Takes a slot of `state` for one request on `model`. */
  claim (state: WorkerState, model: string): Lease {
    const backend = backendOf(state, model)?.backend ?? ''
    const controller = new AbortController()
    state.outstanding++
    state.outstandingByBackend.set(backend, (state.outstandingByBackend.get(backend) ?? 0) + 1)
    state.leases.add(controller)
    let ended = false
    return {
      worker: state,
      signal: controller.signal,
      end: (latencyMs, notify = true) => {
        if (ended) return
        ended = true
        state.leases.delete(controller)
        state.outstanding = Math.max(0, state.outstanding - 1)
        const left = (state.outstandingByBackend.get(backend) ?? 1) - 1
        if (left > 0) state.outstandingByBackend.set(backend, left)
        else state.outstandingByBackend.delete(backend)
        if (latencyMs !== null) state.latencyMs = state.latencyMs === 0 ? latencyMs : state.latencyMs * (1 - LATENCY_WEIGHT) + latencyMs * LATENCY_WEIGHT
        if (notify) this.emit('room')
      }
    }
  }

  /** The worker said BUSY (another gateway filled it): no more requests for `model` until it tells its capacity again. */
  full (state: WorkerState, model: string): void {
    const backend = backendOf(state, model)
    if (!backend || !state.capacity) return
    state.capacity = {
      version: state.capacity.version,
      backends: state.capacity.backends.map(b => b === backend ? { ...b, running: b.concurrency, queued: b.queueSize } : b)
    }
  }

  /** A call to the worker failed at the transport level: probe it now so it is evicted if dead. */
  reportFailure (state: WorkerState): void {
    this.opts.discovery.reportFailure('inference', state.peer.publicKey)
  }

  close (): void {
    clearInterval(this.timer)
    this.opts.discovery.off('up', this.onUp)
    this.opts.discovery.off('down', this.onDown)
    for (const state of this.states.values()) state.watch?.stop()
    this.states.clear()
  }

  private eligible (): WorkerState[] {
    const live: WorkerState[] = []
    const peers = this.opts.discovery.peers('inference')
    const liveIds = new Set(peers.map(peer => peer.id))
    // Requests still running on a dropped worker hold their own reference to its state.
    for (const id of this.states.keys()) if (!liveIds.has(id)) this.forget(id)
    for (const peer of peers) {
      if (!this.opts.isApproved(peer.id)) continue
      let state = this.states.get(peer.id)
      if (!state || state.peer !== peer) {
        state?.watch?.stop()
        state = this.track(peer, state)
      }
      if (state.capacity === null) state.capacity = capacityFromHealth(peer)
      live.push(state)
    }
    return live
  }

  private track (peer: PeerInfo, previous: WorkerState | undefined): WorkerState {
    const state: WorkerState = {
      peer,
      outstanding: previous?.outstanding ?? 0,
      latencyMs: previous?.latencyMs ?? 0,
      capacity: previous?.capacity ?? null,
      outstandingByBackend: previous?.outstandingByBackend ?? new Map(),
      leases: previous?.leases ?? new Set(),
      watch: null
    }
    const fetch = this.opts.fetchCapacity
    if (fetch) {
      state.watch = new CapacityWatch(peer.publicKey, fetch, capacity => {
        state.capacity = capacity
        this.emit('room')
      })
    }
    this.states.set(peer.id, state)
    return state
  }

  /** A worker stopped answering: requests on it end now, and whoever waits for it hears. */
  private dropped (id: string): void {
    const state = this.states.get(id)
    if (state) {
      const gone = new HyperinferError('UNAVAILABLE', `worker ${id.slice(0, 12)} stopped answering`)
      for (const lease of state.leases) lease.abort(gone)
    }
    this.forget(id)
    this.emit('workers')
  }

  private forget (id: string): void {
    this.states.get(id)?.watch?.stop()
    this.states.delete(id)
  }

  private publishGauges (): void {
    const { workers } = this.opts.metrics
    workers.reset()
    for (const [model, states] of this.models()) workers.set({ model, state: 'up' }, states.length)
    for (const peer of this.unapproved()) for (const model of modelsOf(peer)) workers.inc({ model, state: 'unapproved' })
  }
}

export function modelsOf (peer: PeerInfo): string[] {
  return servedModels(peer.health?.details)
}

function capacityFromHealth (peer: PeerInfo): WorkerCapacity | null {
  return capacityInHealth(peer.health?.details)
}

function backendOf (state: WorkerState, model: string): BackendCapacity | undefined {
  return state.capacity?.backends.find(b => b.models.includes(model))
}

/**
 * Slots a new request may take. The worker's count lags behind what this gateway just sent and
 * this gateway does not see other gateways' requests, so the larger of the two is the load.
 * A worker that says nothing of its capacity gets one request at a time.
 */
export function freeSlots (state: WorkerState, model: string): number {
  const backend = backendOf(state, model)
  if (!backend) return state.outstanding < 1 ? 1 : 0
  const own = state.outstandingByBackend.get(backend.backend) ?? 0
  return backend.concurrency - Math.max(own, backend.running + backend.queued)
}
