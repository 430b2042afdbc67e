import type { Bee } from '../../shared/store/bees.js'
import { removeSegments, type IntentJournal, type JournaledSettlement, type RequestIntent } from './intent-journal.js'
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

/** Per user and UTC day: requests and tokens by model. */
export interface DailyCounter {
  requests: number
  promptTokens: number
  completionTokens: number
  models: Record<string, { requests: number, promptTokens: number, completionTokens: number }>
}

type UsageValue = RequestRecord | DailyCounter | string

export type { RequestIntent } from './intent-journal.js'

/**
 * Every commit is a Hyperbee batch, a signed append and a RocksDB write: at one request a second,
 * committing each request on its own was most of an idle gateway's CPU, and a commit every 2 s
 * still cost 0.11% of a core more than one every 10 s (paired 8-minute soaks). The journal keeps
 * every record safe meanwhile, and whoever reads usage waits for its records (`written()`).
 */
const DEFAULT_FLUSH_DELAY_MS = 10_000

/** Where a log written before the intent journal has its oldest unsettled intent. */
const PENDING_SINCE_KEY = 'meta/pending-since'

const requestKey = (r: { at: string, id: string }): string => `requests/${r.at}/${r.id}`
const userIndexKey = (r: { userId: string, at: string, id: string }): string => `by-user/${r.userId}/${r.at}/${r.id}`
const dailyKey = (userId: string, day: string): string => `daily/${userId}/${day}`

/**
 * The gateway's usage Hyperbee, written by group commit. A request's intent (who, which model,
 * the worst case reserved) goes to the journal at admission, off the Hyperbee; `settle()`
 * journals its final record too and queues it for the next group commit (at most `flushDelayMs`
 * after the answer, or at once when `maxBatch` are queued or a caller waits in `written()`).
 * Since the journal holds both, the commit delay costs no durability: a restart writes journaled
 * final records as they were and bills intents without one at their reservation (`recover`).
 * Per request: the record and a one-word per-user index entry; daily counters once per batch.
 */
export class UsageLog {
  readonly bee: Bee<UsageValue>
  private readonly journal: IntentJournal | null
  private settlements: RequestRecord[] = []
  /** Records settled so far, and how many of them the log has written (or failed to): they go in order. */
  private queuedCount = 0
  private writtenCount = 0
  private readonly waiters: { upTo: number, resolve: () => void }[] = []
  private flushing: Promise<void> | null = null
  private timer: NodeJS.Timeout | null = null
  private readonly counters = new Map<string, DailyCounter>()
  private readonly maxBatch: number
  private readonly flushDelayMs: number
  private readonly onError: (err: Error) => void

  constructor (bee: Bee<UsageValue>, { journal = null, maxBatch = 500, flushDelayMs = DEFAULT_FLUSH_DELAY_MS, onError = () => {} }: { journal?: IntentJournal | null, maxBatch?: number, flushDelayMs?: number, onError?: (err: Error) => void } = {}) {
    this.bee = bee
    this.journal = journal
    this.maxBatch = maxBatch
    this.flushDelayMs = flushDelayMs
    this.onError = onError
  }

  /** Records the intent; it is on its way to disk when this returns. */
  admit (intent: RequestIntent): void {
    this.journal?.append(intent)
  }

  /** Queues the final record for the next group commit; failures go to `onError` (a restart bills the intent). */
  settle (record: RequestRecord): void {
    this.journal?.settle(record)
    this.settlements.push(record)
    this.queuedCount++
    if (this.settlements.length >= this.maxBatch) this.kick()
    else this.timer ??= setTimeout(() => { this.kick() }, this.flushDelayMs)
  }

  /**
   * Resolves once every record settled before this call is written: a usage query sees the requests
   * its caller was already answered for. Unlike drain(), records settled later do not hold it up.
   */
  async written (): Promise<void> {
    const upTo = this.queuedCount
    if (this.writtenCount >= upTo) return
    const done = new Promise<void>(resolve => { this.waiters.push({ upTo, resolve }) })
    this.kick()
    await done
  }

  /** Resolves when everything queued so far is written. */
  async drain (): Promise<void> {
    for (;;) {
      if (this.flushing) await this.flushing
      else if (this.settlements.length > 0) this.kick()
      else return
    }
  }

  /**
   * After a restart: what a previous process journaled and never got into the Hyperbee. Final
   * records are written as they were; intents without one are billed at their reservation (the
   * worker's report was lost with the process), so nothing acknowledged goes unbilled. Returns
   * the records it wrote.
   */
  async recover (leftover: readonly RequestIntent[], settled: readonly JournaledSettlement[], files: readonly string[]): Promise<RequestRecord[]> {
    const missing: RequestRecord[] = []
    const inLog = async (entry: { at: string, id: string }): Promise<boolean> => {
      const stored = (await this.bee.get(requestKey(entry)))?.value as RequestRecord | undefined
      return stored !== undefined && stored.status !== 'PENDING'
    }
    for (const record of settled) {
      if (!await inLog(record)) missing.push(record as RequestRecord)
    }
    for (const intent of leftover) {
      if (!await inLog(intent)) missing.push(unsettled({ ...intent, worker: null, promptTokens: 0, completionTokens: 0, latencyMs: 0, ttftMs: null, status: 'PENDING' }))
    }
    for (const record of missing) this.settle(record)
    await this.drain()
    removeSegments(files)
    return missing
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

  /**
   * A log written before the intent journal kept intents in the Hyperbee, marking where the
   * oldest unsettled one was: those never settled are billed at their reservation, once.
   */
  async settleLegacyIntents (): Promise<RequestRecord[]> {
    const since = (await this.bee.get(PENDING_SINCE_KEY))?.value as string | undefined
    if (since === undefined) return []
    const abandoned: RequestRecord[] = []
    for await (const record of this.requestsSince(since)) {
      if (record.status === 'PENDING') abandoned.push(unsettled(record))
    }
    for (const record of abandoned) this.settle(record)
    await this.drain()
    await this.bee.del(PENDING_SINCE_KEY)
    return abandoned
  }

  private kick (): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    // A flush with nothing to write would finish before `flushing` is assigned and leave it set for good.
    if (this.flushing || this.settlements.length === 0) return
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = null
      // Queued after the loop's last look: the next group commit takes them. Nothing queued: a timer
      // set while the loop ran has nothing left to do.
      if (this.settlements.length > 0) {
        this.timer ??= setTimeout(() => { this.kick() }, this.flushDelayMs)
      } else if (this.timer) {
        clearTimeout(this.timer)
        this.timer = null
      }
    })
  }

  private async flushLoop (): Promise<void> {
    while (this.settlements.length > 0) {
      const settlements = this.settlements.splice(0, this.maxBatch)
      try {
        await this.writeBatch(settlements)
        this.journal?.release(settlements.map(r => r.id))
      } catch (err) {
        this.onError(err as Error)
      }
      this.writtenCount += settlements.length
      this.wakeWaiters()
    }
  }

  private wakeWaiters (): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i].upTo > this.writtenCount) continue
      this.waiters[i].resolve()
      this.waiters.splice(i, 1)
    }
  }

  private async writeBatch (settlements: RequestRecord[]): Promise<void> {
    const touched = await this.countersAfter(settlements)
    const batch = this.bee.batch()
    let puts = 0
    // Puts on cached tree nodes never yield: without a pause now and then a big batch would hold
    // the event loop long enough for callers' health probes to time out.
    const put = async (key: string, value: UsageValue): Promise<void> => {
      await batch.put(key, value)
      if (++puts % 32 === 0) await new Promise(resolve => setImmediate(resolve))
    }
    for (const record of settlements) {
      await put(requestKey(record), record)
      await put(userIndexKey(record), requestKey(record))
    }
    for (const [key, counter] of touched) await put(key, counter)
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

/** An intent whose worker report was lost: billed at its reservation. */
function unsettled (record: RequestRecord): RequestRecord {
  return { ...record, status: 'UNSETTLED', promptTokens: 0, completionTokens: record.reservedTokens ?? 0, billed: true }
}
