import { HyperinferError } from '../../shared/errors.js'
import type { PlatformMetrics } from '../../shared/metrics.js'
import { FairQueue } from './fair-queue.js'
import type { Lease } from './worker-pool.js'

export interface AdmissionOptions {
  /** gateway.queue.maxPerModel */
  maxPerModel: number
  /** gateway.queue.timeoutMs */
  timeoutMs: number
  /** Dispatch weight per plan; plans not named weigh 1. */
  planWeights: Record<string, number>
  metrics: PlatformMetrics
  /** Claims a slot on the best worker with room for `model` that is not in `avoid`, or null when none has room. */
  claim (model: string, avoid?: ReadonlySet<string>): Lease | null
}

export interface WaitOptions {
  signal: AbortSignal
  /** The caller's own shorter deadline. */
  timeoutMs?: number
  /** A request that was already admitted and came back (a worker bounced it): to the front, past the bound. */
  again?: boolean
  /** Time already spent waiting before (counts against the deadline). */
  waitedMs?: number
  /** Workers that already failed this request: others are preferred. */
  avoid?: ReadonlySet<string>
}

/** A request's place in the queue: `lease` settles with a worker slot, or TIMEOUT / CANCELLED. */
export interface Ticket {
  readonly lease: Promise<Lease>
  readonly enteredAt: number
  /** 1 = next; 0 once it left the queue. */
  position (): number
}

interface Waiter { user: string, weight: number, avoid?: ReadonlySet<string>, settle (outcome: Lease | HyperinferError): void }

const MIN_RETRY_MS = 1_000

/**
 * The gateway's admission queue: per model, bounded, with a deadline per request, dispatching
 * fairly between users (deficit round robin by plan weight) whenever a worker has a free slot.
 */
export class AdmissionQueue {
  private readonly opts: AdmissionOptions
  private readonly queues = new Map<string, FairQueue<Waiter>>()
  /** Per model: smoothed time between two dispatches while requests wait, for retry hints. */
  private readonly pace = new Map<string, { at: number, intervalMs: number }>()
  /** Per model: since when no worker serves it while requests wait. */
  private readonly orphanedAt = new Map<string, number>()

  constructor (opts: AdmissionOptions) {
    this.opts = opts
  }

  depth (model: string): number {
    return this.queues.get(model)?.size ?? 0
  }

  /** Waits for a worker slot for `model`; throws BUSY at once when the model's queue is full. */
  wait (model: string, user: string, plan: string, opts: WaitOptions): Ticket {
    const enteredAt = performance.now()
    if (opts.signal.aborted) {
      const cancelled = Promise.reject(new HyperinferError('CANCELLED', 'cancelled before it was queued'))
      cancelled.catch(() => {})
      return { lease: cancelled, enteredAt, position: () => 0 }
    }
    if (!opts.again && this.depth(model) === 0) {
      const lease = this.opts.claim(model)
      if (lease) {
        this.opts.metrics.gatewayQueueWait.observe({ model }, 0)
        return { lease: Promise.resolve(lease), enteredAt, position: () => 0 }
      }
    }
    if (!opts.again && this.depth(model) >= this.opts.maxPerModel) throw this.full(model)
    const queue = this.queueOf(model)
    const weight = this.opts.planWeights[plan] ?? 1
    let waiter!: Waiter
    const lease = new Promise<Lease>((resolve, reject) => {
      const timeoutMs = Math.min(opts.timeoutMs ?? Infinity, this.opts.timeoutMs)
      const callerLimit = opts.timeoutMs !== undefined && opts.timeoutMs < this.opts.timeoutMs
      const expire = (): void => { if (queue.remove(user, waiter)) waiter.settle(this.timedOut(model, timeoutMs, callerLimit)) }
      const timer = setTimeout(expire, Math.max(0, timeoutMs - (opts.waitedMs ?? 0)))
      const onAbort = (): void => { if (queue.remove(user, waiter)) waiter.settle(new HyperinferError('CANCELLED', 'cancelled while queued')) }
      waiter = {
        user,
        weight,
        avoid: opts.avoid,
        settle: outcome => {
          clearTimeout(timer)
          opts.signal.removeEventListener('abort', onAbort)
          this.settled(model)
          if (outcome instanceof HyperinferError) return reject(outcome)
          this.opts.metrics.gatewayQueueWait.observe({ model }, (performance.now() - enteredAt) / 1000)
          resolve(outcome)
        }
      }
      opts.signal.addEventListener('abort', onAbort, { once: true })
      if (opts.again) queue.unshift(user, weight, waiter)
      else queue.push(user, weight, waiter)
      this.opts.metrics.gatewayQueueDepth.set({ model }, queue.size)
      if (opts.signal.aborted) onAbort()
    })
    this.pump(model)
    return { lease, enteredAt, position: () => queue.position(user, waiter) }
  }

  /** Hands free slots to waiting requests, fairly; call when a slot may have freed. */
  pump (model?: string): void {
    for (const name of model === undefined ? [...this.queues.keys()] : [model]) {
      const queue = this.queues.get(name)
      while (queue && queue.size > 0) {
        const probe = this.opts.claim(name)
        if (!probe) break
        const waiter = queue.next() as Waiter
        // The slot found goes to the fairest waiter; one that failed on that worker gets another with room if there is one.
        const other = waiter.avoid?.has(probe.worker.peer.id) ? this.opts.claim(name, waiter.avoid) : null
        if (other) probe.end(null, false)
        this.paced(name)
        waiter.settle(other ?? probe)
      }
    }
  }

  /** Ends every request waiting for `model` with `err` (no worker serves it any more). */
  failAll (model: string, err: HyperinferError): void {
    const queue = this.queues.get(model)
    if (!queue) return
    for (const waiter of [...queue.items()]) if (queue.remove(waiter.user, waiter)) waiter.settle(err)
  }

  /**
   * Ends the waits for models no worker has served for `graceMs` (a worker that misses one
   * health probe under load keeps its queue; one that is gone does not leave it waiting).
   */
  sweep (served: (model: string) => boolean, graceMs: number, unserved: (model: string) => HyperinferError): void {
    const now = performance.now()
    for (const model of this.queues.keys()) {
      if (served(model)) {
        this.orphanedAt.delete(model)
        continue
      }
      const since = this.orphanedAt.get(model) ?? now
      this.orphanedAt.set(model, since)
      if (now - since >= graceMs) this.failAll(model, unserved(model))
    }
    for (const model of this.orphanedAt.keys()) if (!this.queues.has(model)) this.orphanedAt.delete(model)
  }

  private queueOf (model: string): FairQueue<Waiter> {
    let queue = this.queues.get(model)
    if (!queue) this.queues.set(model, queue = new FairQueue())
    return queue
  }

  private settled (model: string): void {
    const queue = this.queues.get(model)
    this.opts.metrics.gatewayQueueDepth.set({ model }, queue?.size ?? 0)
    if (queue?.size === 0) {
      this.queues.delete(model)
      this.pace.delete(model)
    }
  }

  private paced (model: string): void {
    const now = performance.now()
    const pace = this.pace.get(model)
    if (!pace) return void this.pace.set(model, { at: now, intervalMs: 0 })
    const interval = now - pace.at
    pace.intervalMs = pace.intervalMs === 0 ? interval : pace.intervalMs * 0.8 + interval * 0.2
    pace.at = now
  }

  /** When a request behind `ahead` others would likely get a slot. */
  private retryAfterMs (model: string, ahead: number): number {
    const interval = this.pace.get(model)?.intervalMs ?? 0
    return Math.max(MIN_RETRY_MS, Math.min(this.opts.timeoutMs, Math.round(interval * ahead)))
  }

  private full (model: string): HyperinferError {
    const waiting = this.depth(model)
    const retryAfterMs = this.retryAfterMs(model, waiting)
    return new HyperinferError('BUSY',
      `the queue for model "${model}" is full: ${waiting} requests wait for a worker (limit gateway.queue.maxPerModel = ${this.opts.maxPerModel}); retry in ${Math.ceil(retryAfterMs / 1000)} s`,
      { retryAfterMs, details: { limit: 'gateway.queue.maxPerModel', max: this.opts.maxPerModel, waiting } })
  }

  private timedOut (model: string, timeoutMs: number, callerLimit: boolean): HyperinferError {
    const limit = callerLimit ? 'queueTimeoutMs' : 'gateway.queue.timeoutMs'
    const waiting = this.depth(model)
    const retryAfterMs = this.retryAfterMs(model, waiting)
    return new HyperinferError('TIMEOUT',
      `no worker slot for model "${model}" within ${timeoutMs} ms (limit ${limit}); ${waiting} requests still wait; retry in ${Math.ceil(retryAfterMs / 1000)} s`,
      { retryAfterMs, details: { limit, timeoutMs, waiting } })
  }
}
