import { z } from 'zod'
import { defineMethod } from '../mesh/method.js'

/** One backend of a worker: the models it serves and how full it is. */
export const backendCapacity = z.object({
  backend: z.string().max(256),
  models: z.array(z.string().max(256)).max(10_000),
  concurrency: z.number().int().min(0),
  running: z.number().int().min(0),
  queued: z.number().int().min(0),
  queueSize: z.number().int().min(0)
})
export type BackendCapacity = z.infer<typeof backendCapacity>

/** A worker's load; `version` grows with every change, so a caller can ask for news since one. */
export const workerCapacity = z.object({
  version: z.number().int().min(0),
  backends: z.array(backendCapacity).max(256)
})
export type WorkerCapacity = z.infer<typeof workerCapacity>

export const CAPACITY_MAX_WAIT_MS = 30_000

/**
 * Long poll: answers as soon as the worker's capacity version differs from `since` (at once when
 * it already does), or with the unchanged state after `waitMs`. A gateway keeps one of these
 * open per worker, which is how free slots are pushed to it: one small answer per change.
 */
export const inferenceCapacity = defineMethod('inference.capacity', {
  request: z.strictObject({
    since: z.number().int().min(-1),
    waitMs: z.number().int().min(0).max(CAPACITY_MAX_WAIT_MS).default(10_000)
  }),
  response: workerCapacity,
  timeoutMs: CAPACITY_MAX_WAIT_MS + 5_000,
  callers: ['gateway']
})
