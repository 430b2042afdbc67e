import { createHash, randomUUID } from 'node:crypto'
import type { AccountReplica, KeyLookup } from '../../shared/accounts/replica.js'
import { HyperinferError, toHyperinferError } from '../../shared/errors.js'
import type { MeshNode } from '../../shared/mesh/mesh-node.js'
import type { CallContext } from '../../shared/mesh/rpc-server.js'
import type { z } from 'zod'
import type { inferRequest, InferResult } from '../../shared/schemas/gateway.js'
import { inferenceRun, type RunResponse } from '../../shared/schemas/inference.js'
import type { SlidingWindowLimiter } from './rate-limiter.js'
import type { TokenQuota } from './token-quota.js'
import type { RequestRecord, UsageLog } from './usage-log.js'
import type { WorkerPool, WorkerState } from './worker-pool.js'
import type { ActivityTracker } from './activity.js'
import { modelUnavailable } from './unapproved-workers.js'

export type InferRequest = z.output<typeof inferRequest>

export interface InferDeps {
  node: MeshNode
  accounts: AccountReplica
  pool: WorkerPool
  limiter: SlidingWindowLimiter
  quota: TokenQuota
  usage: UsageLog
  activity: ActivityTracker
  maxAttempts: number
  workerIdleTimeoutMs: number
  workerFirstTokenTimeoutMs: number
  /** Last-used times of keys, for the auth node. */
  touches: { touch (keyId: string, userId: string): void }
}

/** Codes after which another worker may succeed, as long as nothing was streamed yet. */
const RETRYABLE = new Set(['BUSY', 'UNAVAILABLE', 'TIMEOUT', 'MODEL_UNAVAILABLE', 'INTERNAL', 'UPSTREAM_ERROR', 'RATE_LIMITED'])

export function authenticate (accounts: AccountReplica, apiKey: string): KeyLookup {
  const account = accounts.lookupKey(apiKey)
  if (!account) throw new HyperinferError('UNAUTHENTICATED', 'unknown API key')
  if (!account.live) throw new HyperinferError('UNAUTHENTICATED', 'this API key was revoked')
  return account
}

/**
 * One inference request through the gateway: key, model, limits, a worker (with failover
 * before the first token), the relayed stream, and the bill — recorded before the answer.
 */
export async function * runInference (deps: InferDeps, req: InferRequest, ctx: CallContext): AsyncGenerator<{ text: string }, InferResult> {
  const started = performance.now()
  const { node, pool } = deps
  const metrics = node.metrics
  const account = authenticate(deps.accounts, req.apiKey)

  let candidates = pool.candidates(req.model)
  if (candidates.length === 0) {
    await pool.refresh()
    candidates = pool.candidates(req.model)
  }
  if (candidates.length === 0) {
    throw modelUnavailable(req.model, pool.unapproved())
  }
  ctx.setModel(req.model)

  const { limits, plan } = account
  try {
    deps.limiter.take([
      { id: `key:${account.keyId}`, limit: limits.requestsPerHour },
      { id: `user:${account.userId}`, limit: limits.requestsPerHour }
    ])
  } catch (err) {
    metrics.rateLimitViolations.inc({ plan, kind: 'requests' })
    throw err
  }
  const promptText = req.prompt ?? JSON.stringify(req.messages)
  let reservation
  try {
    // Worst case: every prompt byte a token, plus special tokens, plus every allowed completion token.
    reservation = deps.quota.reserve(account.userId, req.maxTokens + Buffer.byteLength(promptText) + 16, limits.tokensPerDay)
  } catch (err) {
    metrics.rateLimitViolations.inc({ plan, kind: 'tokens' })
    throw err
  }
  deps.activity.seen(account.userId)
  deps.touches.touch(account.keyId, account.userId)

  const requestId = randomUUID()
  const admittedAt = new Date().toISOString()
  const promptSha256 = createHash('sha256').update(promptText).digest('hex')
  // The intent is written while the worker runs: the answer waits for it, not for the final record.
  const intentWritten = deps.usage.admit({
    id: requestId, at: admittedAt, userId: account.userId, keyId: account.keyId, model: req.model, promptSha256, reservedTokens: reservation.tokens
  })
  intentWritten.catch(() => {})
  let text = ''
  let relayedChunks = 0
  let ttftMs: number | null = null
  let final: RunResponse | null = null
  let worker: WorkerState | null = null
  let failure: HyperinferError | null = null

  for (const candidate of candidates.slice(0, deps.maxAttempts)) {
    if (ctx.signal.aborted) break
    worker = candidate
    pool.begin(candidate)
    const stream = node.client(candidate.peer.publicKey).stream(inferenceRun, {
      model: req.model,
      prompt: req.prompt,
      messages: req.messages,
      maxTokens: req.maxTokens,
      temperature: req.temperature,
      topP: req.topP,
      stop: req.stop,
      seed: req.seed
    }, { idleTimeoutMs: deps.workerIdleTimeoutMs, firstChunkTimeoutMs: deps.workerFirstTokenTimeoutMs, signal: ctx.signal })
    try {
      for await (const chunk of stream) {
        if (ttftMs === null) ttftMs = performance.now() - started
        text += chunk.text
        relayedChunks++
        if (!ctx.signal.aborted) yield chunk
      }
      final = await stream.result
      failure = null
      pool.end(candidate, ttftMs ?? performance.now() - started)
      break
    } catch (err) {
      pool.end(candidate, null)
      failure = toHyperinferError(err)
      if (failure.code === 'UNAVAILABLE' || failure.code === 'TIMEOUT') pool.reportFailure(candidate)
      if (relayedChunks > 0) {
        failure = new HyperinferError(failure.code === 'TIMEOUT' ? 'TIMEOUT' : 'UNAVAILABLE',
          `worker ${candidate.peer.id.slice(0, 12)} failed after ${relayedChunks} tokens (${failure.message}); the partial answer was billed`)
        break
      }
      if (!RETRYABLE.has(failure.code) || ctx.signal.aborted) break
      node.log.info({ worker: candidate.peer.id.slice(0, 12), code: failure.code }, 'worker failed before the first token; trying another')
    }
  }

  const cancelled = ctx.signal.aborted
  const usage = final?.usage ?? { promptTokens: 0, completionTokens: relayedChunks, totalTokens: relayedChunks }
  const latencyMs = performance.now() - started
  const record: RequestRecord = {
    id: requestId,
    at: admittedAt,
    userId: account.userId,
    keyId: account.keyId,
    model: req.model,
    worker: worker?.peer.id ?? null,
    promptSha256,
    promptTokens: usage.promptTokens,
    completionTokens: usage.completionTokens,
    latencyMs: Math.round(latencyMs * 1000) / 1000,
    ttftMs: ttftMs === null ? null : Math.round(ttftMs * 1000) / 1000,
    status: failure ? failure.code : cancelled ? 'CANCELLED' : 'OK',
    reservedTokens: reservation.tokens
  }
  deps.quota.settle(reservation, usage.totalTokens)
  metrics.tokens.inc({ model: req.model, kind: 'prompt' }, usage.promptTokens)
  metrics.tokens.inc({ model: req.model, kind: 'completion' }, usage.completionTokens)
  if (ttftMs !== null) metrics.timeToFirstToken.observe({ model: req.model }, ttftMs / 1000)
  // The final record goes in the next group commit, after the answer; a restart bills an intent left without one.
  deps.usage.settle(record)
  await intentWritten

  if (failure) throw failure
  return {
    requestId,
    model: req.model,
    worker: record.worker,
    text,
    usage,
    finishReason: final?.finishReason ?? 'cancelled',
    timeToFirstTokenMs: record.ttftMs,
    latencyMs: record.latencyMs,
    cached: final?.cached ?? false,
    recorded: true
  }
}
