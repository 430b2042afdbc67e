import type { ChunkEnvelope } from './wire.js'

/** A frame carries at most this many chunks, so a fast producer's batch stays far below the frame limit. */
const MAX_CHUNKS_PER_FRAME = 256
/**
 * After a frame leaves, the next one waits at least this long: a model producing 1,000 tokens a second
 * costs 100 frames a second, each encrypted, sent and decoded on both sides, instead of 1,000, while a
 * reader sees text arrive at a steady 10 ms cadence (finer than a screen refresh). A model slower than
 * that still gets a frame per token, and what is pending when the stream ends rides in its final response.
 */
export const MIN_FRAME_INTERVAL_MS = 10

/**
 * The producer's side of a stream: chunks yielded within one turn of the event loop leave in one
 * frame (a token burst from upstream costs one message, not one per token), at most one frame per
 * MIN_FRAME_INTERVAL_MS, and what is still unsent when the stream ends rides in the final response.
 * The first chunk waits only for the current turn to end, never for the next chunk.
 */
export class ChunkBatcher {
  private pending: unknown[] = []
  private scheduled = false
  private timer: NodeJS.Timeout | null = null
  private lastSentAt = -Infinity
  private readonly streamId: number
  private readonly send: (envelope: ChunkEnvelope) => void
  private readonly intervalMs: number

  constructor (streamId: number, send: (envelope: ChunkEnvelope) => void, intervalMs = MIN_FRAME_INTERVAL_MS) {
    this.streamId = streamId
    this.send = send
    this.intervalMs = intervalMs
  }

  add (chunk: unknown): void {
    this.pending.push(chunk)
    if (this.pending.length >= MAX_CHUNKS_PER_FRAME) this.flush()
    else if (!this.scheduled) {
      this.scheduled = true
      const wait = this.lastSentAt + this.intervalMs - performance.now()
      if (wait > 0) this.timer = setTimeout(this.flush, wait)
      else setImmediate(this.flush)
    }
  }

  /** The chunks not sent yet (the final response carries them); nothing is sent after this. */
  take (): unknown[] {
    if (this.timer !== null) clearTimeout(this.timer)
    this.timer = null
    const rest = this.pending
    this.pending = []
    return rest
  }

  private readonly flush = (): void => {
    this.scheduled = false
    const chunks = this.take()
    if (chunks.length === 0) return
    this.lastSentAt = performance.now()
    if (chunks.length === 1) this.send({ s: this.streamId, c: chunks[0] })
    else this.send({ s: this.streamId, cs: chunks })
  }
}
