import type { Bee } from '../../shared/store/bees.js'
import { utcDay } from './token-quota.js'

/** 'PENDING' is an intent not settled yet; 'UNSETTLED' one a restart billed at its reservation. */
export type RequestStatus = 'OK' | 'CANCELLED' | 'PENDING' | 'UNSETTLED' | string

/** One line of the request log. The prompt itself is never stored, only its SHA-256. */
export interface RequestRecord {
  id: string
  /** Admission time: also the record's place in the log. */
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
  /** The worst case reserved against the daily quota at admission. */
  reservedTokens?: number
  /** Fields other parts of the gateway add (e.g. whether the request was billed) are kept as given. */
  [extra: string]: unknown
}

/** What is known when a request is admitted, before any worker is called. */
export interface RequestIntent {
  id: string
  at: string
  userId: string
  keyId: string
  model: string
  promptSha256: string
  reservedTokens: number
}

/** Per user and UTC day: requests and tokens by model. */
export interface DailyCounter {
  requests: number
  promptTokens: number
  completionTokens: number
  models: Record<string, { requests: number, promptTokens: number, completionTokens: number }>
}

type UsageValue = RequestRecord | DailyCounter | string

interface Waiter { resolve (): void, reject (err: Error): void }
interface QueuedIntent extends Waiter { intent: RequestIntent }

/** Where the oldest intent that was not settled yet is; a restart scans the log from there. */
const PENDING_SINCE_KEY = 'meta/pending-since'

const requestKey = (r: { at: string, id: string }): string => `requests/${r.at}/${r.id}`
const userIndexKey = (r: { userId: string, at: string, id: string }): string => `by-user/${r.userId}/${r.at}/${r.id}`
const dailyKey = (userId: string, day: string): string => `daily/${userId}/${day}`

/**
 * The gateway's usage Hyperbee, written by group commit, in two steps per request:
 * - `admit()` writes the intent (who, which model, the worst case reserved) while the worker
 *   runs; the answer waits for it, so an acknowledged request is always on disk;
 * - `settle()` replaces it by the final record and adds it to the daily counter in the next
 *   group commit, after the answer has gone out.
 * A restart bills intents that were never settled at their reservation (`settleAbandoned`).
 * Per request: the record (written twice) and a one-word per-user index entry; daily counters
 * are written once per batch.
 */
export class UsageLog {
  readonly bee: Bee<UsageValue>
  private intents: QueuedIntent[] = []
  private settlements: RequestRecord[] = []
  private flushing: Promise<void> | null = null
  private readonly counters = new Map<string, DailyCounter>()
  /** Admitted and not settled yet, by id: their admission time bounds the restart scan. */
  private readonly open = new Map<string, string>()
  private readonly maxBatch: number
  private readonly onError: (err: Error) => void

  constructor (bee: Bee<UsageValue>, { maxBatch = 500, onError = () => {} }: { maxBatch?: number, onError?: (err: Error) => void } = {}) {
    this.bee = bee
    this.maxBatch = maxBatch
    this.onError = onError
  }

  /** Writes the intent; resolves once it is flushed. */
  admit (intent: RequestIntent): Promise<void> {
    this.open.set(intent.id, intent.at)
    const written = new Promise<void>((resolve, reject) => {
      this.intents.push({ intent, resolve, reject })
    })
    this.kick()
    return written
  }

  /** Queues the final record for the next group commit; failures go to `onError` (a restart bills the intent). */
  settle (record: RequestRecord): void {
    this.settlements.push(record)
    this.kick()
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

  /** A user's daily counters from `fromDay` on, oldest first. */
  async * dailyCounters (userId: string, fromDay: string): AsyncGenerator<{ day: string } & DailyCounter> {
    for await (const entry of this.bee.createReadStream({ gte: dailyKey(userId, fromDay), lt: dailyKey(userId, '~') })) {
      yield { day: entry.key.slice(entry.key.lastIndexOf('/') + 1), ...(entry.value as DailyCounter) }
    }
  }

  /** Requests admitted at or after `since` (an ISO time), oldest first. */
  async * requestsSince (since: string): AsyncGenerator<RequestRecord> {
    for await (const entry of this.bee.createReadStream({ gte: `requests/${since}`, lt: 'requests/~' })) yield entry.value as RequestRecord
  }

  /** A user's latest requests, newest first. */
  async * recentRequests (userId: string, limit: number): AsyncGenerator<RequestRecord> {
    const prefix = `by-user/${userId}/`
    for await (const entry of this.bee.createReadStream({ gt: prefix, lt: prefix + '~', reverse: true, limit })) {
      const record = (await this.bee.get(entry.value as string))?.value as RequestRecord | undefined
      if (record) yield record
    }
  }

  /** Where a restart must start reading the log to find every intent that was never settled. */
  async pendingSince (): Promise<string | null> {
    return ((await this.bee.get(PENDING_SINCE_KEY))?.value as string | undefined) ?? null
  }

  /**
   * After a restart: every intent admitted at or after `since` that was never settled is billed
   * at its reservation (the worker's report was lost with the process), so nothing acknowledged
   * goes unbilled. Returns the records it settled.
   */
  async settleAbandoned (since: string): Promise<RequestRecord[]> {
    const abandoned: RequestRecord[] = []
    for await (const record of this.requestsSince(since)) {
      if (record.status !== 'PENDING' || this.open.has(record.id)) continue
      const reserved = record.reservedTokens ?? 0
      abandoned.push({ ...record, status: 'UNSETTLED', promptTokens: 0, completionTokens: reserved, billed: true })
    }
    for (const record of abandoned) this.settle(record)
    await this.drain()
    return abandoned
  }

  private kick (): void {
    this.flushing ??= this.flushLoop()
  }

  private async flushLoop (): Promise<void> {
    try {
      while (this.intents.length > 0 || this.settlements.length > 0) {
        const intents = this.intents.splice(0, this.maxBatch)
        const settlements = this.takeSettlements()
        try {
          await this.writeBatch(intents.map(q => q.intent), settlements)
          for (const q of intents) q.resolve()
        } catch (err) {
          for (const q of intents) q.reject(err as Error)
          if (settlements.length > 0) this.onError(err as Error)
        }
      }
    } finally {
      this.flushing = null
    }
  }

  /** Up to maxBatch settlements, never one whose intent is still queued (it would land before its intent). */
  private takeSettlements (): RequestRecord[] {
    const waiting = this.intents.length > 0 ? new Set(this.intents.map(q => q.intent.id)) : null
    const taken: RequestRecord[] = []
    const kept: RequestRecord[] = []
    for (const record of this.settlements) {
      if (taken.length < this.maxBatch && !waiting?.has(record.id)) taken.push(record)
      else kept.push(record)
    }
    this.settlements = kept
    return taken
  }

  private async writeBatch (intents: RequestIntent[], settlements: RequestRecord[]): Promise<void> {
    const touched = await this.countersAfter(settlements)
    const settledIds = new Set(settlements.map(r => r.id))
    const batch = this.bee.batch()
    let puts = 0
    // Puts on cached tree nodes never yield: without a pause now and then a big batch would hold
    // the event loop long enough for callers' health probes to time out.
    const put = async (key: string, value: UsageValue): Promise<void> => {
      await batch.put(key, value)
      if (++puts % 32 === 0) await new Promise(resolve => setImmediate(resolve))
    }
    for (const intent of intents) {
      // Settled in this same batch: the final record replaces the intent anyway.
      if (!settledIds.has(intent.id)) {
        await put(requestKey(intent), {
          ...intent, worker: null, promptTokens: 0, completionTokens: 0, latencyMs: 0, ttftMs: null, status: 'PENDING'
        } satisfies RequestRecord)
      }
      await put(userIndexKey(intent), requestKey(intent))
    }
    for (const record of settlements) await put(requestKey(record), record)
    for (const [key, counter] of touched) await put(key, counter)
    for (const id of settledIds) this.open.delete(id)
    let oldestOpen: string | null = null
    for (const at of this.open.values()) if (oldestOpen === null || at < oldestOpen) oldestOpen = at
    await batch.put(PENDING_SINCE_KEY, oldestOpen ?? new Date().toISOString())
    await batch.flush()
    for (const [key, counter] of touched) this.counters.set(key, counter)
    if (this.counters.size > 10_000) this.counters.clear()
  }

  private async countersAfter (records: RequestRecord[]): Promise<Map<string, DailyCounter>> {
    const touched = new Map<string, DailyCounter>()
    for (const record of records) {
      // Refunded requests (no worker served them) are in the log but not in the counters.
      if (record.billed === false) continue
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
    return touched
  }
}
