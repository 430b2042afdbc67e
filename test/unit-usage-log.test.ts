import t from 'tap'
import type { Test } from 'tap'
import { existsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import Corestore from 'corestore'
import { openOwnBee } from '../shared/store/bees.js'
import { UsageLog, type RequestRecord } from '../services/gateway/usage-log.js'
import { until } from './helpers/until.js'

/** A usage log on a Hyperbee in a fresh corestore; `reopen` closes it and opens the same data again. */
async function openLog (t: Test, opts: ConstructorParameters<typeof UsageLog>[1] = {}): Promise<{ log: UsageLog, reopen (): Promise<UsageLog> }> {
  const dir = t.testdir()
  let store = new Corestore(dir)
  t.teardown(() => store.close())
  const log = new UsageLog(await openOwnBee(store, 'usage'), opts)
  return {
    log,
    async reopen () {
      await store.close()
      store = new Corestore(dir)
      return new UsageLog(await openOwnBee(store, 'usage'), opts)
    }
  }
}

let sequence = 0
function record (fields: Partial<RequestRecord> & { at: string }): RequestRecord {
  return {
    id: `r${String(++sequence).padStart(4, '0')}`, userId: 'u1', keyId: 'k1', model: 'm', worker: 'w', promptSha256: '0'.repeat(64),
    promptTokens: 1, completionTokens: 2, latencyMs: 5, ttftMs: 1, status: 'OK', ...fields
  }
}

async function collect<T> (it: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = []
  for await (const x of it) all.push(x)
  return all
}

t.test('a record lands in its UTC day\'s counter: 23:59:59.999 is still the old day', async t => {
  const { log } = await openLog(t)
  log.settle(record({ at: '2026-02-28T23:59:59.999Z', promptTokens: 3, completionTokens: 4 }))
  log.settle(record({ at: '2026-03-01T00:00:00.000Z', promptTokens: 10, completionTokens: 20, model: 'n' }))
  await log.drain()
  t.match(await log.dailyCounter('u1', '2026-02-28'), { requests: 1, promptTokens: 3, completionTokens: 4, models: { m: { requests: 1 } } })
  t.same(await log.dailyCounter('u1', '2026-03-01'), { requests: 1, promptTokens: 10, completionTokens: 20, models: { n: { requests: 1, promptTokens: 10, completionTokens: 20 } } })
  t.equal(await log.dailyCounter('u1', '2026-03-02'), null, 'a day without requests has no counter')
  t.same((await collect(log.dailyCounters('u1', '2026-03-01'))).map(c => c.day), ['2026-03-01'], 'counters from a day on')
})

t.test('counters add up per model; refunded (billed false) requests are logged but not counted', async t => {
  const { log } = await openLog(t)
  const at = '2026-03-01T10:00:00.000Z'
  log.settle(record({ at, model: 'a', promptTokens: 1, completionTokens: 1 }))
  log.settle(record({ at, model: 'a', promptTokens: 2, completionTokens: 3 }))
  log.settle(record({ at, model: 'b', promptTokens: 5, completionTokens: 0 }))
  log.settle(record({ at, model: 'a', promptTokens: 0, completionTokens: 0, billed: false, status: 'UNAVAILABLE' }))
  await log.drain()
  t.same(await log.dailyCounter('u1', '2026-03-01'), {
    requests: 3, promptTokens: 8, completionTokens: 4,
    models: { a: { requests: 2, promptTokens: 3, completionTokens: 4 }, b: { requests: 1, promptTokens: 5, completionTokens: 0 } }
  })
  t.equal((await collect(log.requestsSince(at))).length, 4, 'the refunded request is in the log')
})

t.test('queries: requestsSince is oldest first from its instant on; recentRequests is one user\'s, newest first, limited', async t => {
  const { log } = await openLog(t)
  log.settle(record({ at: '2026-03-01T10:00:02.000Z', id: 'late' }))
  log.settle(record({ at: '2026-03-01T10:00:00.000Z', id: 'early' }))
  log.settle(record({ at: '2026-03-01T10:00:01.000Z', id: 'middle', userId: 'u10' }))
  log.settle(record({ at: '2026-03-01T10:00:03.000Z', id: 'other', userId: 'u2' }))
  await log.drain()
  t.same((await collect(log.requestsSince('2026-03-01T10:00:01.000Z'))).map(r => r.id), ['middle', 'late', 'other'], 'an instant is inclusive')
  t.same((await collect(log.recentRequests('u1', 10))).map(r => r.id), ['late', 'early'], 'u10 is not u1')
  t.same((await collect(log.recentRequests('u1', 1))).map(r => r.id), ['late'])
  t.same(await collect(log.recentRequests('nobody', 10)), [])
})

t.test('group commit: more settlements than one batch are all written, and counters carry across batches and a reopen', async t => {
  const { log, reopen } = await openLog(t, { maxBatch: 7, flushDelayMs: 1 })
  const at = '2026-03-01T12:00:00.000Z'
  for (let i = 0; i < 30; i++) log.settle(record({ at, promptTokens: 1, completionTokens: 1 }))
  await log.drain()
  await log.drain()
  t.equal((await collect(log.requestsSince(at))).length, 30)
  t.match(await log.dailyCounter('u1', '2026-03-01'), { requests: 30, promptTokens: 30, completionTokens: 30 })
  const reopened = await reopen()
  t.match(await reopened.dailyCounter('u1', '2026-03-01'), { requests: 30 }, 'read back from the Hyperbee, not a cache')
  reopened.settle(record({ at, promptTokens: 1, completionTokens: 1 }))
  await reopened.drain()
  t.match(await reopened.dailyCounter('u1', '2026-03-01'), { requests: 31, promptTokens: 31 }, 'a new process adds to the stored counter')
})

t.test('a settlement is written without drain, by the flush timer', async t => {
  const { log } = await openLog(t, { flushDelayMs: 5 })
  log.settle(record({ at: '2026-03-01T12:00:00.000Z', id: 'timed' }))
  const found = await until('the record to be written', async () => {
    const written = await collect(log.requestsSince('2026-03-01'))
    return written.length > 0 && written
  }, { timeoutMs: 5_000, everyMs: 5 })
  t.same(found.map(r => r.id), ['timed'])
})

t.test('recover: journaled final records are written as they were, intents without one are billed at their reservation, what is in the log is left alone, and the journal files go', async t => {
  const { log } = await openLog(t)
  const at = '2026-03-01T08:00:00.000Z'
  const intent = (id: string, reservedTokens: number) => ({ id, at, userId: 'u1', keyId: 'k1', model: 'm', promptSha256: '0'.repeat(64), reservedTokens })
  log.settle(record({ ...intent('done', 50), promptTokens: 3, completionTokens: 4 }))
  await log.drain()
  const file = join(t.testdir(), 'intents-1.ndjson')
  writeFileSync(file, '')
  const journaled = record({ ...intent('answered', 30), promptTokens: 6, completionTokens: 9 })
  const billed = await log.recover([intent('done', 50), intent('lost', 40)], [journaled, record({ ...intent('done', 50), promptTokens: 3, completionTokens: 4 })], [file])
  t.same(billed.map(r => [r.id, r.status, r.promptTokens, r.completionTokens]), [['answered', 'OK', 6, 9], ['lost', 'UNSETTLED', 0, 40]])
  const byId = Object.fromEntries((await collect(log.requestsSince(at))).map(r => [r.id, r]))
  t.match(byId.done, { status: 'OK', completionTokens: 4 }, 'the record already in the log keeps what the worker reported')
  t.match(byId.answered, { status: 'OK', promptTokens: 6, completionTokens: 9 }, 'a journaled final record is billed what the worker reported')
  t.match(byId.lost, { status: 'UNSETTLED', completionTokens: 40, billed: true })
  t.match(await log.dailyCounter('u1', '2026-03-01'), { requests: 3, promptTokens: 9, completionTokens: 53 }, 'counted once each')
  t.notOk(existsSync(file), 'the journal segment was removed')
  t.same(await log.recover([], [], []), [], 'nothing left over: nothing billed')
})

t.test('drain with nothing queued resolves at once', async t => {
  const { log } = await openLog(t)
  await log.drain()
  t.same(await collect(log.requestsSince('')), [])
})

t.test('a group-commit timer that fires after a flush already took its records leaves the log able to flush and drain', async t => {
  const { log } = await openLog(t, { flushDelayMs: 5 })
  const at = '2026-11-24T10:00:00.000Z'
  log.settle(record({ id: 'first', at }))
  const draining = log.drain()
  // Settled while the first flush runs: its timer fires after that flush has written it too.
  log.settle(record({ id: 'second', at }))
  await draining
  await new Promise(resolve => setTimeout(resolve, 30))
  log.settle(record({ id: 'third', at }))
  const drained = await Promise.race([log.drain().then(() => true), new Promise(resolve => setTimeout(resolve, 5_000, false))])
  t.ok(drained, 'drain returns (a flush that found nothing to write once left the log stuck for good)')
  t.same((await collect(log.requestsSince('2000-01-01'))).map(r => r.id).sort(), ['first', 'second', 'third'], 'every record written')
})

t.test('written(): a record settled before the call is readable when it resolves, however busy the log stays after', async t => {
  // A long group-commit delay: without written() the record would still be waiting for its batch.
  const { log } = await openLog(t, { flushDelayMs: 60_000 })
  const mine = record({ at: '2026-03-01T10:00:00.000Z', userId: 'reader' })
  log.settle(mine)
  let others = 0
  const busy = setInterval(() => { log.settle(record({ at: '2026-03-01T10:00:01.000Z', userId: `other${++others}` })) }, 1)
  t.teardown(() => { clearInterval(busy) })
  await log.written()
  t.same((await collect(log.recentRequests('reader', 5))).map(r => r.id), [mine.id], 'the caller reads the request it was answered for')
  clearInterval(busy)
  await log.drain()
  t.ok(others > 0, `${others} records settled by others meanwhile`)
})
