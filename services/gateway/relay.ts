import type { z } from 'zod'
import { HyperinferError, toHyperinferError } from '../../shared/errors.js'
import type { MeshNode } from '../../shared/mesh/mesh-node.js'
import type { CallContext } from '../../shared/mesh/rpc-server.js'
import type { infer } from '../../shared/schemas/gateway.js'
import { inferenceRun, type RunResponse } from '../../shared/schemas/inference.js'
import type { Lease, WorkerPool, WorkerState } from './worker-pool.js'

export type InferChunk = z.input<NonNullable<typeof infer.chunk>>
export type Generation = z.input<typeof inferenceRun.request>

export interface RelayDeps {
  node: MeshNode
  pool: WorkerPool
  workerIdleTimeoutMs: number
  workerFirstTokenTimeoutMs: number
}

/** What the attempts of one request produced so far. */
export interface RelayState {
  readonly started: number
  text: string
  chunks: number
  ttftMs: number | null
  final: RunResponse | null
  failure: HyperinferError | null
  worker: WorkerState | null
  /** Tries that reached a worker (a worker saying BUSY does not count). */
  attempts: number
}

/** Codes after which another worker may succeed, as long as nothing was streamed yet. */
const RETRYABLE = new Set(['BUSY', 'UNAVAILABLE', 'TIMEOUT', 'MODEL_UNAVAILABLE', 'INTERNAL', 'UPSTREAM_ERROR', 'RATE_LIMITED'])
/** Failures that mean no worker took the request on (nothing was produced). */
const NOT_TAKEN = new Set(['BUSY', 'UNAVAILABLE', 'MODEL_UNAVAILABLE'])

export function newRelayState (): RelayState {
  return { started: performance.now(), text: '', chunks: 0, ttftMs: null, final: null, failure: null, worker: null, attempts: 0 }
}

/** Whether the request should go back to the queue for another worker. */
export function shouldRetry (state: RelayState, maxAttempts: number, signal: AbortSignal): boolean {
  const { failure } = state
  if (!failure || state.chunks > 0 || signal.aborted) return false
  return RETRYABLE.has(failure.code) && (failure.code === 'BUSY' || state.attempts < maxAttempts)
}

/** Whether a worker served the request: it answered, or streamed something, or refused it for a reason of its own. */
export function served (state: RelayState): boolean {
  return state.final !== null || state.chunks > 0 || (state.failure !== null && state.worker !== null && !NOT_TAKEN.has(state.failure.code))
}

/**
 * One try on the worker of `lease`: relays its chunks and records the outcome in `state`.
 * When the worker goes down before its first token the try ends at once (and may be retried).
 */
export async function * relay (deps: RelayDeps, lease: Lease, generation: Generation, ctx: CallContext, state: RelayState): AsyncGenerator<InferChunk, void> {
  const worker = lease.worker
  state.worker = worker
  state.failure = null
  let workerGone = false
  const stream = deps.node.client(worker.peer.publicKey).stream(inferenceRun, generation, {
    idleTimeoutMs: deps.workerIdleTimeoutMs,
    firstChunkTimeoutMs: deps.workerFirstTokenTimeoutMs,
    signal: ctx.signal
  })
  // A listener on the lease rather than a second signal combined with the caller's through
  // AbortSignal.any: on Node 20 each signal costs about 10 µs to create, on every request.
  // A try is retried only before any chunk (shouldRetry), so this attempt's chunks are state.chunks.
  const onGone = (): void => {
    if (state.chunks > 0) return
    workerGone = true
    stream.abort()
  }
  lease.signal.addEventListener('abort', onGone, { once: true })
  if (lease.signal.aborted) onGone()
  try {
    for await (const chunk of stream) {
      state.ttftMs ??= performance.now() - state.started
      state.text += chunk.text
      state.chunks++
      if (!ctx.signal.aborted) yield chunk
    }
    if (workerGone && !ctx.signal.aborted) throw gone(worker)
    state.final = await stream.result
    lease.end(state.ttftMs ?? performance.now() - state.started)
  } catch (err) {
    lease.end(null)
    state.failure = workerGone && !ctx.signal.aborted ? gone(worker) : toHyperinferError(err)
    if (state.failure.code === 'BUSY') deps.pool.full(worker, generation.model)
    else state.attempts++
    if (state.failure.code === 'UNAVAILABLE' || state.failure.code === 'TIMEOUT') deps.pool.reportFailure(worker)
    if (state.chunks > 0) state.failure = partialFailure(worker, state.chunks, state.failure)
  } finally {
    lease.signal.removeEventListener('abort', onGone)
  }
}

function gone (worker: WorkerState): HyperinferError {
  return new HyperinferError('UNAVAILABLE', `worker ${worker.peer.id.slice(0, 12)} stopped answering before its first token`)
}

function partialFailure (worker: WorkerState, chunks: number, cause: HyperinferError): HyperinferError {
  return new HyperinferError(cause.code === 'TIMEOUT' ? 'TIMEOUT' : 'UNAVAILABLE',
    `worker ${worker.peer.id.slice(0, 12)} failed after ${chunks} tokens (${cause.message}); the partial answer was billed`)
}
