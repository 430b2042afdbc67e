import { HyperinferError, type WireError } from '../errors.js'

/** Frames over ~16 MiB destroy the whole connection; stay well below. */
export const MAX_FRAME_BYTES = 8 * 1024 * 1024

/** Event names on the connection that carry stream chunks and cancellations. */
export const STREAM_CHUNK_EVENT = '~chunk'
export const STREAM_CANCEL_EVENT = '~cancel'
/** Sent by a node that is shutting down on every connection it serves, so callers drop it at once. */
export const GOODBYE_EVENT = '~goodbye'

export interface RequestEnvelope { b: unknown, s?: number }
/** `cs`: a stream's last chunks, sent with its final response instead of a frame of their own. */
export type ResponseEnvelope = { ok: true, r: unknown, cs?: unknown[] } | { ok: false, e: WireError, cs?: unknown[] }
/** One chunk (`c`) or a burst of them (`cs`). */
export interface ChunkEnvelope { s: number, c?: unknown, cs?: unknown[] }

export function encode (value: unknown): Buffer {
  const buf = Buffer.from(JSON.stringify(value))
  if (buf.byteLength > MAX_FRAME_BYTES) {
    throw new HyperinferError('PAYLOAD_TOO_LARGE', `message of ${buf.byteLength} bytes exceeds the ${MAX_FRAME_BYTES} byte frame limit`)
  }
  return buf
}

export function decode (buf: Buffer | null, maxBytes: number): unknown {
  // An empty frame arrives as null.
  if (!buf || buf.byteLength === 0) throw new HyperinferError('INVALID_ARGUMENT', 'empty request')
  if (buf.byteLength > maxBytes) {
    throw new HyperinferError('PAYLOAD_TOO_LARGE', `request of ${buf.byteLength} bytes exceeds the limit of ${maxBytes} bytes`)
  }
  try {
    return JSON.parse(buf.toString('utf8'))
  } catch {
    throw new HyperinferError('INVALID_ARGUMENT', 'request body is not valid JSON')
  }
}
