import { z } from 'zod'

/** How long a request may wait at the gateway for a worker slot; the gateway's own limit caps it. */
export const queueTimeoutMs = z.number().int().min(1).max(3_600_000)

/**
 * Sent on a stream that waits in the gateway's queue (first after about a second, then as the
 * position changes): `position` 1 is next. The chunk that carries it has empty text.
 */
export const queuedNotice = z.object({
  position: z.number().int().min(1),
  waitedMs: z.number().min(0)
})
export type QueuedNotice = z.infer<typeof queuedNotice>

