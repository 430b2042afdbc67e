import { HyperinferError } from '../../shared/errors.js'

interface Waiter { resolve (): void, reject (err: Error): void }

/**
 * At most `concurrency` holders at once and at most `queueSize` waiting; beyond that BUSY at once.
 * `onChange` hears every change of running or queued (capacity is pushed to gateways from it).
 */
export class GenerationLimiter {
  readonly concurrency: number
  readonly queueSize: number
  private active = 0
  private readonly waiting: Waiter[] = []
  private readonly onChange: () => void

  constructor (concurrency: number, queueSize: number, onChange: () => void = () => {}) {
    this.concurrency = concurrency
    this.queueSize = queueSize
    this.onChange = onChange
  }

  get running (): number { return this.active }
  get queued (): number { return this.waiting.length }

  /** Resolves with a release function (call it exactly once), or rejects BUSY / CANCELLED. */
  async acquire (signal: AbortSignal, what: string): Promise<() => void> {
    signal.throwIfAborted()
    if (this.active < this.concurrency) {
      this.active++
      this.onChange()
      return this.releaser()
    }
    if (this.waiting.length >= this.queueSize) {
      throw new HyperinferError('BUSY', `${what} is busy: ${this.active} running and ${this.waiting.length} queued (limits ${this.concurrency} and ${this.queueSize})`,
        { retryAfterMs: 1000, details: { running: this.active, queued: this.waiting.length } })
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        resolve: () => {
          signal.removeEventListener('abort', onAbort)
          resolve()
        },
        reject
      }
      const onAbort = (): void => {
        const i = this.waiting.indexOf(waiter)
        if (i >= 0) this.waiting.splice(i, 1)
        reject(new HyperinferError('CANCELLED', 'cancelled while queued'))
        this.onChange()
      }
      signal.addEventListener('abort', onAbort, { once: true })
      this.waiting.push(waiter)
      this.onChange()
    })
    return this.releaser()
  }

  private releaser (): () => void {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = this.waiting.shift()
      if (next) next.resolve()
      else this.active--
      this.onChange()
    }
  }
}
