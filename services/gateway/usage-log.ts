import type { Bee } from '../../shared/store/bees.js'
import { utcDay } from './token-quota.js'

export type RequestStatus = 'ok' | 'cancelled' | string

/** One line of the request log. The prompt itself is never stored, only its SHA-256. */
export interface RequestRecord {
  id: string
  at: string
  userId: string
  keyId: string
  model: string
  worker: string | null
  promptSha256: string
  promptTokens: number
  completionTokens: number
  latencyMs: number
  ttftMs: number | null
  status: RequestStatus
}

/** Per user and UTC day: requests and tokens by model. */
export interface DailyCounter {
  requests: number
  promptTokens: number
  completionTokens: number
  models: Record<string, { requests: number, promptTokens: number, completionTokens: number }>
}

type UsageValue = RequestRecord | DailyCounter

interface Pending { record: RequestRecord, resolve (): void, reject (err: Error): void }

export const requestKey = (r: RequestRecord): string => `requests/${r.at}/${r.id}`
export const userRequestKey = (r: RequestRecord): string => `requests-by-user/${r.userId}/${r.at}/${r.id}`
export const dailyKey = (userId: string, day: string): string => `daily/${userId}/${day}`

/**
 * The gateway's usage Hyperbee, written by group commit: records queue up and are written in
 * one batch (request log + the daily counters they change); `record()` resolves only once its
 * batch is flushed, so an acknowledged request is on disk even if the process is killed.
 */
export class UsageLog {
  readonly bee: Bee<UsageValue>
  private queue: Pending[] = []
  private flushing: Promise<void> | null = null
  private readonly counters = new Map<string, DailyCounter>()
  private readonly maxBatch: number

  constructor (bee: Bee<UsageValue>, { maxBatch = 500 } = {}) {
    this.bee = bee
    this.maxBatch = maxBatch
  }

  record (record: RequestRecord): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ record, resolve, reject })
      if (!this.flushing) this.flushing = this.flushLoop()
    })
  }

  /** Resolves when everything queued so far is written. */
  async drain (): Promise<void> {
    while (this.flushing) await this.flushing
  }

  async dailyCounter (userId: string, day: string): Promise<DailyCounter | null> {
    const key = dailyKey(userId, day)
    const cached = this.counters.get(key)
    if (cached) return cached
    const entry = await this.bee.get(key)
    return (entry?.value as DailyCounter | undefined) ?? null
  }

  async * range<T extends UsageValue> (gte: string, lt: string, opts: { reverse?: boolean, limit?: number } = {}): AsyncGenerator<T> {
    for await (const entry of this.bee.createReadStream({ gte, lt, ...opts })) yield entry.value as T
  }

  private async flushLoop (): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.maxBatch)
        try {
          await this.writeBatch(batch.map(p => p.record))
          for (const p of batch) p.resolve()
        } catch (err) {
          for (const p of batch) p.reject(err as Error)
        }
      }
    } finally {
      this.flushing = null
    }
  }

  private async writeBatch (records: RequestRecord[]): Promise<void> {
    const touched = new Map<string, DailyCounter>()
    for (const record of records) {
      const key = dailyKey(record.userId, utcDay(Date.parse(record.at)))
      let counter = touched.get(key)
      if (!counter) {
        const current = this.counters.get(key) ?? ((await this.bee.get(key))?.value as DailyCounter | undefined)
        counter = structuredClone(current ?? { requests: 0, promptTokens: 0, completionTokens: 0, models: {} })
        touched.set(key, counter)
      }
      counter.requests++
      counter.promptTokens += record.promptTokens
      counter.completionTokens += record.completionTokens
      const model = counter.models[record.model] ??= { requests: 0, promptTokens: 0, completionTokens: 0 }
      model.requests++
      model.promptTokens += record.promptTokens
      model.completionTokens += record.completionTokens
    }
    const batch = this.bee.batch()
    for (const record of records) {
      await batch.put(requestKey(record), record)
      await batch.put(userRequestKey(record), record)
    }
    for (const [key, counter] of touched) await batch.put(key, counter)
    await batch.flush()
    for (const [key, counter] of touched) this.counters.set(key, counter)
    if (this.counters.size > 10_000) this.counters.clear()
  }
}
