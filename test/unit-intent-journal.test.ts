import t from 'tap'
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IntentJournal, type RequestIntent } from '../services/gateway/intent-journal.js'

const intent = (id: string, reservedTokens = 10): RequestIntent => ({ id, at: '2026-11-24T10:00:00.000Z', userId: 'u1', keyId: 'k1', model: 'm', promptSha256: '0'.repeat(64), reservedTokens })

function tempDir (t: { teardown (fn: () => void): void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'journal-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

t.test('what a process journaled and never released is read back by the next one; released intents are not', async t => {
  const dir = tempDir(t)
  const { journal, leftover } = IntentJournal.open(dir)
  t.same(leftover, [], 'a new journal has nothing left over')
  journal.append(intent('a'))
  journal.append(intent('b', 40))
  journal.append(intent('c'))
  journal.release(['a', 'c'])
  t.equal(journal.pending, 1)
  // No close: the process dies (kill -9) with b unsettled.
  const next = IntentJournal.open(dir)
  t.same(next.leftover.map(i => i.id), ['a', 'b', 'c'], 'the segment still holds every line it had (release only deletes whole segments)')
  t.equal(next.leftover.find(i => i.id === 'b')?.reservedTokens, 40)
  next.journal.close()
})

t.test('a request whose final record was journaled is read back as settled, even across a rotation', async t => {
  const dir = tempDir(t)
  const { journal } = IntentJournal.open(dir)
  journal.append(intent('answered', 30))
  journal.append(intent('lost', 40))
  for (let i = 0; i < 2000; i++) journal.append(intent(`filler-${i}`))
  journal.release(Array.from({ length: 2000 }, (_, i) => `filler-${i}`))
  journal.settle({ ...intent('answered', 30), promptTokens: 6, completionTokens: 9, status: 'OK' })
  t.ok(readdirSync(dir).length > 1, 'the final record went to a later segment than its intent')
  const next = IntentJournal.open(dir)
  // released fillers that share a segment with open requests are read back too; recover finds them in the log
  t.same(next.leftover.map(i => i.id).filter(id => !id.startsWith('filler-')), ['lost'], 'only the intent without a final record is left over')
  t.same(next.settled.map(r => [r.id, r.completionTokens]), [['answered', 9]])
  next.journal.close()
  journal.close()
})

t.test('a line torn by a crash mid-write is skipped, the whole lines before it are kept', async t => {
  const dir = tempDir(t)
  const { journal } = IntentJournal.open(dir)
  journal.append(intent('whole'))
  const [segment] = readdirSync(dir)
  appendFileSync(join(dir, segment), '{"id":"torn","at":"2026-11-')
  const next = IntentJournal.open(dir)
  t.same(next.leftover.map(i => i.id), ['whole'])
  next.journal.close()
  journal.close()
})

t.test('full segments rotate and are deleted once all their intents are released; a clean close leaves nothing', async t => {
  const dir = tempDir(t)
  const { journal } = IntentJournal.open(dir)
  const ids = Array.from({ length: 2000 }, (_, i) => `request-${i}`)
  for (const id of ids) journal.append(intent(id))
  const segments = readdirSync(dir).length
  t.ok(segments > 1, `2,000 intents fill more than one 256 KiB segment (${segments})`)
  journal.release(ids.slice(0, 1999))
  t.equal(readdirSync(dir).length, 1, 'only the segment holding the unreleased intent is left')
  journal.release(['request-1999'])
  journal.close()
  t.same(readdirSync(dir), [], 'nothing pending: no file left')
})

t.test('closing with intents unsettled keeps them for the next start', async t => {
  const dir = tempDir(t)
  const { journal } = IntentJournal.open(dir)
  journal.append(intent('open'))
  journal.close()
  const next = IntentJournal.open(dir)
  t.same(next.leftover.map(i => i.id), ['open'])
  t.ok(next.leftoverFiles.every(existsSync), 'the files it came from are named, for removal once billed')
  next.journal.close()
})
