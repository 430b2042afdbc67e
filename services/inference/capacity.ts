import type { BackendCapacity, WorkerCapacity } from '../../shared/schemas/capacity.js'

interface Poll { since: number, resolve (capacity: WorkerCapacity): void, timer: NodeJS.Timeout, signal: AbortSignal, onAbort (): void }

/** Changes within this window reach the gateways as one answer, and a request that starts and ends inside it as none. */
export const CAPACITY_COALESCE_MS = 200

/**
 * The worker's load as gateways see it: a version that grows when the load differs from what was
 * last published, and long polls answered when it does. Gateways track their own leases, so a
 * state up to CAPACITY_COALESCE_MS old costs nothing; answering every start and end of a request
 * cost each request two long-poll answers on the worker and on every gateway, in the middle of
 * the request.
 */
export class CapacityBoard {
  private version = 0
  /** The JSON of the last published backends; '' before the first. */
  private published = ''
  private readonly polls = new Set<Poll>()
  private timer: NodeJS.Timeout | null = null
  private readonly snapshot: () => BackendCapacity[]
  private readonly coalesceMs: number

  constructor (snapshot: () => BackendCapacity[], coalesceMs = CAPACITY_COALESCE_MS) {
    this.snapshot = snapshot
    this.coalesceMs = coalesceMs
  }

  current (): WorkerCapacity {
    this.publish()
    return { version: this.version, backends: JSON.parse(this.published) as BackendCapacity[] }
  }

  changed (): void {
    if (this.timer !== null || this.polls.size === 0) return
    this.timer = setTimeout(() => {
      this.timer = null
      this.publish()
      this.answer(poll => poll.since !== this.version)
    }, this.coalesceMs)
  }

  /** The current capacity once its version differs from `since`, or after `waitMs` anyway. */
  wait (since: number, waitMs: number, signal: AbortSignal): Promise<WorkerCapacity> {
    const now = this.current()
    if (since !== now.version || waitMs === 0 || signal.aborted) return Promise.resolve(now)
    return new Promise(resolve => {
      const poll: Poll = {
        since,
        resolve,
        signal,
        timer: setTimeout(() => { this.answer(p => p === poll) }, waitMs),
        onAbort: () => { this.answer(p => p === poll) }
      }
      signal.addEventListener('abort', poll.onAbort, { once: true })
      this.polls.add(poll)
    })
  }

  /** Answers every open poll (a closing worker lets its gateways go). */
  close (): void {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    this.answer(() => true)
  }

  private publish (): void {
    const now = JSON.stringify(this.snapshot())
    if (now === this.published) return
    this.published = now
    this.version++
  }

  private answer (which: (poll: Poll) => boolean): void {
    let capacity: WorkerCapacity | null = null
    for (const poll of this.polls) {
      if (!which(poll)) continue
      this.polls.delete(poll)
      clearTimeout(poll.timer)
      poll.signal.removeEventListener('abort', poll.onAbort)
      poll.resolve(capacity ??= this.current())
    }
  }
}
