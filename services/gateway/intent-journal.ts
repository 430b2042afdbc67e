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

interface Segment { readonly file: string, fd: number | null, bytes: number, readonly open: Set<string> }

const SEGMENT_BYTES = 256 * 1024
const SEGMENT_NAME = /^intents-(\d+)\.ndjson$/

/**
 * The gateway's write-ahead record of admitted requests: one JSON line per intent, written with
 * one synchronous write() at admission (microseconds; in the kernel before the worker is called,
 * so a kill -9 cannot lose it). The usage Hyperbee gets only final records, by group commit after
 * the answer. A segment is deleted once every intent in it is settled in the Hyperbee; what a
 * crash leaves behind is read back at the next start and billed at its reservation.
 */
export class IntentJournal {
  private readonly dir: string
  private current: Segment
  private readonly segments: Segment[] = []
  private readonly segmentOf = new Map<string, Segment>()
  private sequence: number

  private constructor (dir: string, sequence: number) {
    this.dir = dir
    this.sequence = sequence
    this.current = this.startSegment()
  }

  /** Opens the journal in `dir`, returning the intents a previous process left unsettled. */
  static open (dir: string): { journal: IntentJournal, leftover: RequestIntent[], leftoverFiles: string[] } {
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    const files = readdirSync(dir).filter(name => SEGMENT_NAME.test(name)).sort(bySequence)
    const leftover = files.flatMap(name => readIntents(join(dir, name)))
    const last = files.length > 0 ? Number(SEGMENT_NAME.exec(files[files.length - 1])?.[1]) : 0
    return { journal: new IntentJournal(dir, last + 1), leftover, leftoverFiles: files.map(name => join(dir, name)) }
  }

  /** Records an intent; returns once the kernel holds it. */
  append (intent: RequestIntent): void {
    if (this.current.bytes >= SEGMENT_BYTES) this.rotate()
    const segment = this.current
    const line = Buffer.from(JSON.stringify(intent) + '\n')
    writeSync(segment.fd as number, line)
    segment.bytes += line.byteLength
    segment.open.add(intent.id)
    this.segmentOf.set(intent.id, segment)
  }

  /** The intents' final records are in the Hyperbee: a segment none of whose intents is open goes. */
  release (ids: Iterable<string>): void {
    for (const id of ids) {
      const segment = this.segmentOf.get(id)
      if (!segment) continue
      this.segmentOf.delete(id)
      segment.open.delete(id)
      if (segment.open.size === 0 && segment !== this.current) this.drop(segment)
    }
  }

  /** Intents admitted and not released yet. */
  get pending (): number {
    return this.segmentOf.size
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
function readIntents (file: string): RequestIntent[] {
  const intents: RequestIntent[] = []
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.length === 0) continue
    try {
      const intent = JSON.parse(line) as RequestIntent
      if (typeof intent.id === 'string' && typeof intent.at === 'string') intents.push(intent)
    } catch {}
  }
  return intents
}
