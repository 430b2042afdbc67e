import type { BackendCapacity, WorkerCapacity } from '../../shared/schemas/capacity.js'

interface Poll { since: number, resolve (capacity: WorkerCapacity): void, timer: NodeJS.Timeout, signal: AbortSignal, onAbort (): void }

/**
 * The worker's load as gateways see it: a version that grows on every change and long polls
 * answered when it does. Changes within one tick of the event loop are answered together, so a
 * request that starts and ends at once costs the gateways one answer, not two.
 */
export class CapacityBoard {
  private version = 0
  private readonly polls = new Set<Poll>()
  private scheduled = false
  private readonly snapshot: () => BackendCapacity[]

  constructor (snapshot: () => BackendCapacity[]) {
    this.snapshot = snapshot
  }

  current (): WorkerCapacity {
    return { version: this.version, backends: this.snapshot() }
  }

  changed (): void {
    this.version++
    if (this.scheduled || this.polls.size === 0) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.answer(poll => poll.since !== this.version)
    })
  }

  /** The current capacity once its version differs from `since`, or after `waitMs` anyway. */
  wait (since: number, waitMs: number, signal: AbortSignal): Promise<WorkerCapacity> {
    if (since !== this.version || waitMs === 0 || signal.aborted) return Promise.resolve(this.current())
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
    this.answer(() => true)
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
