import type { ChunkEnvelope } from './wire.js'

/** A frame carries at most this many chunks, so a fast producer's batch stays far below the frame limit. */
const MAX_CHUNKS_PER_FRAME = 256

/**
 * The producer's side of a stream: chunks yielded within one turn of the event loop leave in one
 * frame (a token burst from upstream costs one message, not one per token), and what is still
 * unsent when the stream ends rides in the final response. The first chunk of a burst waits only
 * for the current turn to end, never for the next chunk.
 */
export class ChunkBatcher {
  private pending: unknown[] = []
  private scheduled = false
  private readonly streamId: number
  private readonly send: (envelope: ChunkEnvelope) => void

  constructor (streamId: number, send: (envelope: ChunkEnvelope) => void) {
    this.streamId = streamId
    this.send = send
  }

  add (chunk: unknown): void {
    this.pending.push(chunk)
    if (this.pending.length >= MAX_CHUNKS_PER_FRAME) this.flush()
    else if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flush)
    }
  }

  /** The chunks not sent yet (the final response carries them); nothing is sent after this. */
  take (): unknown[] {
    const rest = this.pending
    this.pending = []
    return rest
  }

  private readonly flush = (): void => {
    this.scheduled = false
    const chunks = this.take()
    if (chunks.length === 1) this.send({ s: this.streamId, c: chunks[0] })
    else if (chunks.length > 1) this.send({ s: this.streamId, cs: chunks })
  }
}
