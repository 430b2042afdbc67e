import type { z } from 'zod'
import { HyperinferError } from '../errors.js'

interface RpcStreamOptions {
  chunkSchema: z.ZodType | undefined
  /** Longest wait for the first message (a model may take long to start). */
  firstMessageTimeoutMs: number
  /** Longest wait between two messages after that. */
  idleTimeoutMs: number
  drainTimeoutMs: number
  onCancel (): void
  onSettled (): void
}

type Waiter = { resolve (step: IteratorResult<never>): void, reject (err: Error): void }

/**
 * The caller's side of a streaming call: chunks as an async iterator, in order, ended by the
 * final response (`result`). Breaking out of the loop or aborting tells the producer to stop;
 * `result` then still brings the final response, which carries what was produced.
 */
export class RpcStream<Chunk, Result> implements AsyncIterable<Chunk> {
  readonly result: Promise<Result>
  private readonly opts: RpcStreamOptions
  private readonly buffered: Chunk[] = []
  private waiter: Waiter | null = null
  private settled = false
  private error: Error | null = null
  private cancelled = false
  private timer: NodeJS.Timeout | null = null
  private timerMs = 0
  private resolveResult!: (value: Result) => void
  private rejectResult!: (err: Error) => void

  constructor (opts: RpcStreamOptions) {
    this.opts = opts
    this.result = new Promise<Result>((resolve, reject) => {
      this.resolveResult = resolve
      this.rejectResult = reject
    })
    this.result.catch(() => {})
    this.armTimer(opts.firstMessageTimeoutMs)
  }

  /** Stop the producer; `result` settles with its final (partial) response or an error. */
  abort (): void {
    if (this.settled || this.cancelled) return
    this.cancelled = true
    this.opts.onCancel()
    this.armTimer(this.opts.drainTimeoutMs)
    this.wake()
  }

  abortOn (signal: AbortSignal): void {
    if (signal.aborted) return this.abort()
    const onAbort = (): void => { this.abort() }
    signal.addEventListener('abort', onAbort, { once: true })
    this.result.finally(() => { signal.removeEventListener('abort', onAbort) }).catch(() => {})
  }

  /** @internal a chunk from the wire */
  push (raw: unknown): void {
    if (this.settled) return
    let chunk = raw as Chunk
    if (this.opts.chunkSchema) {
      const parsed = this.opts.chunkSchema.safeParse(raw)
      if (!parsed.success) {
        this.fail(new HyperinferError('INTERNAL', `peer sent an invalid stream chunk: ${parsed.error.issues[0]?.message ?? ''}`))
        this.opts.onCancel()
        return
      }
      chunk = parsed.data as Chunk
    }
    if (!this.cancelled) this.armTimer(this.opts.idleTimeoutMs)
    if (this.cancelled) return
    if (this.waiter) {
      const waiter = this.waiter
      this.waiter = null
      waiter.resolve({ value: chunk as never, done: false })
    } else {
      this.buffered.push(chunk)
    }
  }

  /** @internal the final response */
  finish (value: Result): void {
    if (this.settled) return
    this.settle()
    this.resolveResult(value)
    this.wake()
  }

  /** @internal the call failed */
  fail (err: Error): void {
    if (this.settled) return
    this.settle()
    this.error = err
    this.rejectResult(err)
    this.wake()
  }

  [Symbol.asyncIterator] (): AsyncIterator<Chunk> {
    return {
      next: () => this.next(),
      return: async () => {
        this.abort()
        return { value: undefined, done: true }
      }
    }
  }

  private next (): Promise<IteratorResult<Chunk>> {
    if (this.buffered.length > 0) return Promise.resolve({ value: this.buffered.shift() as Chunk, done: false })
    if (this.error && !this.cancelled) return Promise.reject(this.error)
    if (this.settled || this.cancelled) return Promise.resolve({ value: undefined, done: true })
    return new Promise((resolve, reject) => { this.waiter = { resolve, reject } })
  }

  private wake (): void {
    const waiter = this.waiter
    if (!waiter) return
    this.waiter = null
    if (this.error && !this.cancelled) waiter.reject(this.error)
    else waiter.resolve({ value: undefined as never, done: true })
  }

  private settle (): void {
    this.settled = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.opts.onSettled()
  }

  private armTimer (ms: number): void {
    // Re-armed on every chunk: refreshing the running timer costs less than a new one.
    if (this.timer && ms === this.timerMs) {
      this.timer.refresh()
      return
    }
    if (this.timer) clearTimeout(this.timer)
    this.timerMs = ms
    this.timer = setTimeout(() => {
      this.timer = null
      const wasCancelled = this.cancelled
      if (!wasCancelled) this.opts.onCancel()
      this.fail(new HyperinferError('TIMEOUT', wasCancelled
        ? `the producer did not end the stream within ${ms} ms of being cancelled`
        : `no stream message for ${ms} ms`))
    }, ms)
  }
}
