import { hasCode } from '../../shared/errors.js'
import type { WorkerCapacity } from '../../shared/schemas/capacity.js'

export type FetchCapacity = (publicKey: Buffer, since: number, signal: AbortSignal) => Promise<WorkerCapacity>

const RETRY_MS = 1_000

/**
 * Keeps one long poll open to a worker for its capacity: each answer is a change (or the
 * unchanged state after the worker's wait), reported to `onCapacity`, then the next poll goes
 * out. Failures wait a second and retry until `stop()`; discovery decides when a worker is gone.
 * A worker without the method (an older version) is not asked again: its health is all there is.
 */
export class CapacityWatch {
  private readonly controller = new AbortController()

  constructor (publicKey: Buffer, fetch: FetchCapacity, onCapacity: (capacity: WorkerCapacity) => void) {
    void this.loop(publicKey, fetch, onCapacity)
  }

  stop (): void {
    this.controller.abort()
  }

  private async loop (publicKey: Buffer, fetch: FetchCapacity, onCapacity: (capacity: WorkerCapacity) => void): Promise<void> {
    const { signal } = this.controller
    let since = -1
    while (!signal.aborted) {
      try {
        const capacity = await fetch(publicKey, since, signal)
        if (signal.aborted) return
        since = capacity.version
        onCapacity(capacity)
      } catch (err) {
        if (hasCode(err, 'UNKNOWN_METHOD')) return
        await new Promise(resolve => setTimeout(resolve, RETRY_MS).unref())
      }
    }
  }
}
