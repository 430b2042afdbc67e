import { HyperinferError } from '../../../shared/errors.js'
import type { Logger } from '../../../shared/log.js'
import { linkedController } from './signals.js'
import type { BackendModel } from './types.js'

export interface UpstreamTimeouts { firstByteMs: number, idleMs: number }

export interface UpstreamTarget { backend: string, type: string, model?: string }

function where (t: UpstreamTarget): string {
  return `backend ${t.backend} (${t.type})${t.model !== undefined ? ` model "${t.model}"` : ''}`
}

/**
 * Maps an upstream HTTP status to a coded error carrying the upstream message.
 * 401/403 become UPSTREAM_ERROR: the caller's own credentials were fine, the worker's upstream key was not,
 * and UNAUTHENTICATED would tell the gateway's user to log in again.
 */
export function httpError (status: number, message: string, target: UpstreamTarget, retryAfter?: string | null): HyperinferError {
  const details = { backend: target.backend, model: target.model, status, upstream: message }
  const text = `${where(target)}: upstream answered ${status}: ${message}`
  if (status === 404) return new HyperinferError('MODEL_UNAVAILABLE', text, { details })
  if (status === 429) return new HyperinferError('RATE_LIMITED', text, { details, retryAfterMs: parseRetryAfter(retryAfter) })
  if (status === 400 || status === 413 || status === 422) return new HyperinferError('INVALID_ARGUMENT', text, { details })
  return new HyperinferError('UPSTREAM_ERROR', text, { details })
}

/** An upstream's rate-limit hint for parseRetryAfter: OpenAI's retry-after-ms (as seconds) wins over retry-after. */
export function retryAfterHeader (header: (name: string) => string | null | undefined): string | null {
  const ms = header('retry-after-ms')
  if (ms != null && ms !== '' && Number.isFinite(Number(ms))) return String(Number(ms) / 1000)
  return header('retry-after') ?? null
}

/** Retry-After is seconds or an HTTP date; default 1 s when absent or unreadable. */
export function parseRetryAfter (value: string | null | undefined, now = Date.now()): number {
  if (value == null || value === '') return 1000
  const seconds = Number(value)
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000)
  const date = Date.parse(value)
  return Number.isNaN(date) ? 1000 : Math.max(0, date - now)
}

export function unreachable (target: UpstreamTarget, err: unknown): HyperinferError {
  const reason = describeCause(err)
  return new HyperinferError('MODEL_UNAVAILABLE', `${where(target)} is unreachable: ${reason}`,
    { details: { backend: target.backend, model: target.model, reason } })
}

export function timedOut (target: UpstreamTarget, what: string, ms: number): HyperinferError {
  return new HyperinferError('TIMEOUT', `${where(target)}: ${what} within ${ms} ms`, { details: { backend: target.backend, model: target.model } })
}

export function streamCut (target: UpstreamTarget, err: unknown): HyperinferError {
  return new HyperinferError('UPSTREAM_ERROR', `${where(target)}: the stream broke off before it ended (${describeCause(err)})`,
    { details: { backend: target.backend, model: target.model } })
}

function describeCause (err: unknown): string {
  let e = err as { message?: string, code?: string, cause?: unknown } | undefined
  const parts: string[] = []
  for (let i = 0; e && i < 4; i++, e = e.cause as typeof e) {
    if (e.code) parts.push(e.code)
    else if (e.message) parts.push(e.message)
  }
  return parts.join(': ') || String(err)
}

/**
 * Iterates an upstream stream with a deadline for the first item and for each gap after it.
 * On a deadline it calls `onTimeout` (which aborts the HTTP request) and throws TIMEOUT.
 */
export async function * withDeadlines<T> (
  source: AsyncIterable<T>, timeouts: UpstreamTimeouts, target: UpstreamTarget, onTimeout: () => void
): AsyncGenerator<T, void, void> {
  const iterator = source[Symbol.asyncIterator]()
  let first = true
  try {
    for (;;) {
      const ms = first ? timeouts.firstByteMs : timeouts.idleMs
      let timer: NodeJS.Timeout | undefined
      const deadline = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          onTimeout()
          reject(timedOut(target, first ? 'no first chunk' : 'no chunk', ms))
        }, ms)
      })
      let step: IteratorResult<T>
      try {
        step = await Promise.race([iterator.next(), deadline])
      } finally {
        clearTimeout(timer)
      }
      if (step.done) return
      first = false
      yield step.value
    }
  } finally {
    await Promise.race([iterator.return?.(), new Promise(resolve => setTimeout(resolve, 100))]).catch(() => {})
  }
}

/** Resolves a promise or fails with TIMEOUT (calling `onTimeout` first). */
export async function withTimeout<T> (pending: Promise<T>, ms: number, target: UpstreamTarget, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([pending, new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        onTimeout()
        reject(timedOut(target, what, ms))
      }, ms)
    })])
  } finally {
    clearTimeout(timer)
  }
}

/** Rough prompt token count when the upstream gave none (an aborted stream): ~4 characters a token. Completion tokens are counted as streamed pieces. */
export function estimateTokens (text: string): number {
  return text.length === 0 ? 0 : Math.max(1, Math.ceil(text.length / 4))
}

/** Asks an upstream for its models once at start, to tell the operator whether it answers (it may come up later). */
export async function logReachable (log: Logger, where: Record<string, unknown>, list: () => Promise<string[]>, what: string): Promise<void> {
  try {
    const models = await list()
    log.info({ ...where, upstreamModels: models.length }, `${what} reachable`)
  } catch (err) {
    log.warn({ ...where, err: (err as Error).message }, `${what} not reachable yet: its models are listed as unavailable`)
  }
}

/**
 * The models an upstream backend lists: the configured names, else what the upstream lists, each
 * ready when `isReady` says so given the upstream's list (null when it did not answer). With no
 * configured names, an upstream that does not answer is an error, not an empty list: the caller
 * keeps what it knew.
 */
export async function listUpstreamModels (configured: string[] | undefined, list: () => Promise<string[]>, isReady: (name: string, upstream: string[]) => boolean): Promise<BackendModel[]> {
  let upstream: string[] | null = null
  try {
    upstream = await list()
  } catch (err) {
    // configured models stay listed, as unavailable
    if (configured === undefined || configured.length === 0) throw err
  }
  const names = configured !== undefined && configured.length > 0 ? configured : upstream ?? []
  return names.map(name => ({
    name,
    contextLength: null,
    status: upstream !== null && isReady(name, upstream) ? 'ready' as const : 'unavailable' as const
  }))
}

/**
 * The parts of one streamed upstream answer: the first within firstByteMs, each next within
 * idleMs. A failure becomes the backend's coded error, unless the caller cancelled (the parts then
 * just end). Only a stream left half-read has its connection torn down: aborting a finished one
 * cost ~0.7 ms per request (DOMException + undici teardown, seen with --cpu-prof).
 */
export async function * readUpstream<T> (
  open: (signal: AbortSignal) => Promise<AsyncIterable<T>>,
  signal: AbortSignal,
  timeouts: UpstreamTimeouts,
  target: UpstreamTarget,
  mapError: (err: unknown, received: boolean) => HyperinferError
): AsyncGenerator<T, void> {
  const { controller, unlink } = linkedController(signal)
  let received = false
  let drained = false
  try {
    const stream = await withTimeout(open(controller.signal), timeouts.firstByteMs, target, 'no answer', () => { controller.abort() })
    for await (const part of withDeadlines(stream, timeouts, target, () => { controller.abort() })) {
      received = true
      yield part
    }
    drained = true
  } catch (err) {
    if (!signal.aborted) throw mapError(err, received)
  } finally {
    unlink()
    if (!drained) controller.abort()
  }
}
