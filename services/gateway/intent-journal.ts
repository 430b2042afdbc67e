import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'

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

/** A request's final record, as the usage log will write it: journaled when the answer is settled. */
export interface JournaledSettlement { id: string, at: string, [field: string]: unknown }

interface Segment { readonly file: string, fd: number | null, bytes: number, readonly open: Set<string> }

const SEGMENT_BYTES = 256 * 1024
const SEGMENT_NAME = /^intents-(\d+)\.ndjson$/

/**
 * The gateway's write-ahead log of requests: one JSON line per intent, written with one
 * synchronous write() at admission (microseconds; in the kernel before the worker is called, so
 * a kill -9 cannot lose it), and one per final record when the answer is settled. The usage
 * Hyperbee gets the final records by group commit, seconds later. A segment is deleted once every
 * request in it is in the Hyperbee; what a crash leaves behind is read back at the next start:
 * settled requests with what the worker reported, the others at their reservation.
 */
export class IntentJournal {
  private readonly dir: string
  private current: Segment
  private readonly segments: Segment[] = []
  /** The segments holding each unreleased request's lines (its intent and final record may straddle a rotation). */
  private readonly segmentsOf = new Map<string, Segment[]>()
  private sequence: number

  private constructor (dir: string, sequence: number) {
    this.dir = dir
    this.sequence = sequence
    this.current = this.startSegment()
  }

  /** Opens the journal in `dir`, returning the intents a previous process left unsettled. */
  static open (dir: string): { journal: IntentJournal, leftover: RequestIntent[], settled: JournaledSettlement[], leftoverFiles: string[] } {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const files = readdirSync(dir).filter(name => SEGMENT_NAME.test(name)).sort(bySequence)
    const lines = files.flatMap(name => readLines(join(dir, name)))
    const settled = new Map<string, JournaledSettlement>()
    for (const line of lines) if ('settled' in line) settled.set(line.settled.id, line.settled)
    const leftover = lines.filter((line): line is RequestIntent => !('settled' in line) && !settled.has(line.id))
    const last = files.length > 0 ? Number(SEGMENT_NAME.exec(files[files.length - 1])?.[1]) : 0
    return { journal: new IntentJournal(dir, last + 1), leftover, settled: [...settled.values()], leftoverFiles: files.map(name => join(dir, name)) }
  }

  /** Records an intent; returns once the kernel holds it. */
  append (intent: RequestIntent): void {
    this.hold(intent.id, this.write(intent))
  }

  /** Records a request's final record; returns once the kernel holds it. */
  settle (record: JournaledSettlement): void {
    this.hold(record.id, this.write({ settled: record }))
  }

  private hold (id: string, segment: Segment): void {
    segment.open.add(id)
    const held = this.segmentsOf.get(id)
    if (!held) this.segmentsOf.set(id, [segment])
    else if (!held.includes(segment)) held.push(segment)
  }

  private write (entry: RequestIntent | { settled: JournaledSettlement }): Segment {
    if (this.current.bytes >= SEGMENT_BYTES) this.rotate()
    const segment = this.current
    const line = Buffer.from(JSON.stringify(entry) + '\n')
    writeSync(segment.fd as number, line)
    segment.bytes += line.byteLength
    return segment
  }

  /** The intents' final records are in the Hyperbee: a segment none of whose intents is open goes. */
  release (ids: Iterable<string>): void {
    for (const id of ids) {
      const held = this.segmentsOf.get(id)
      if (!held) continue
      this.segmentsOf.delete(id)
      for (const segment of held) {
        segment.open.delete(id)
        if (segment.open.size === 0 && segment !== this.current) this.drop(segment)
      }
    }
  }

  /** Intents admitted and not released yet. */
  get pending (): number {
    return this.segmentsOf.size
  }

  /** Segments holding unsettled intents stay for the next start to bill. */
  close (): void {
    for (const segment of this.segments) {
      if (segment.fd !== null) closeSync(segment.fd)
      segment.fd = null
    }
    if (this.current.open.size === 0) unlinkSync(this.current.file)
  }

  private startSegment (): Segment {
    const file = join(this.dir, `intents-${this.sequence++}.ndjson`)
    const segment: Segment = { file, fd: openSync(file, 'a', 0o600), bytes: 0, open: new Set() }
    this.segments.push(segment)
    return segment
  }

  private rotate (): void {
    const full = this.current
    this.current = this.startSegment()
    if (full.fd !== null) closeSync(full.fd)
    full.fd = null
    if (full.open.size === 0) this.drop(full)
  }

  private drop (segment: Segment): void {
    if (segment.fd !== null) closeSync(segment.fd)
    segment.fd = null
    this.segments.splice(this.segments.indexOf(segment), 1)
    unlinkSync(segment.file)
  }
}

/** Removes segments a previous process left, once their intents are settled in the Hyperbee. */
export function removeSegments (files: readonly string[]): void {
  for (const file of files) unlinkSync(file)
}

function bySequence (a: string, b: string): number {
  return Number(SEGMENT_NAME.exec(a)?.[1]) - Number(SEGMENT_NAME.exec(b)?.[1])
}

/** Whole lines only: a line torn by a crash mid-write was never acknowledged. */
function readLines (file: string): Array<RequestIntent | { settled: JournaledSettlement }> {
  const lines: Array<RequestIntent | { settled: JournaledSettlement }> = []
  for (const text of readFileSync(file, 'utf8').split('\n')) {
    if (text.length === 0) continue
    try {
      const line = JSON.parse(text) as RequestIntent | { settled: JournaledSettlement }
      const entry = 'settled' in line ? line.settled : line
      if (typeof entry?.id === 'string' && typeof entry.at === 'string') lines.push(line)
    } catch {}
  }
  return lines
}
