import type { HyperinferError } from '../../shared/errors.js'
import type { PlatformMetrics } from '../../shared/metrics.js'
import type { InferResult } from '../../shared/schemas/gateway.js'
import { refund, type Admission, type AdmitDeps, type RefundReason } from './admit.js'
import { served, type RelayState } from './relay.js'
import type { RequestRecord } from './usage-log.js'

export type BillDeps = Pick<AdmitDeps, 'limiter' | 'quota' | 'usage' | 'metrics'>

const round3 = (ms: number): number => Math.round(ms * 1000) / 1000

/** Why a request that no worker served ended, from the error that ended it. */
export function refundReason (err: HyperinferError): RefundReason {
  if (err.code === 'CANCELLED') return 'cancelled'
  if (err.code === 'TIMEOUT') return 'queue_timeout'
  if (err.code === 'BUSY') return 'queue_full'
  return 'unserved'
}

/**
 * Settles a request: a request a worker served is billed (its slot stays counted, the quota
 * settles to the tokens used); one no worker served is refunded. Either way it goes in the
 * usage log with its status and whether it was billed (its intent was journaled at admission).
 */
export async function bill (deps: BillDeps, admission: Admission, state: RelayState, cancelled: boolean): Promise<InferResult> {
  const wasServed = served(state)
  const failure = state.failure
  const usage = state.final?.usage ?? { promptTokens: 0, completionTokens: state.chunks, totalTokens: state.chunks }
  if (wasServed) {
    if (admission.reservation) deps.quota.settle(admission.reservation, usage.totalTokens)
    countTokens(deps.metrics, admission.model, usage, state.ttftMs)
  } else {
    refund(deps, admission, failure ? refundReason(failure) : 'cancelled')
  }
  const record: RequestRecord = {
    id: admission.requestId,
    at: admission.at,
    userId: admission.account.userId,
    keyId: admission.account.keyId,
    model: admission.model,
    worker: wasServed ? state.worker?.peer.id ?? null : null,
    promptSha256: admission.promptSha256,
    promptTokens: wasServed ? usage.promptTokens : 0,
    completionTokens: wasServed ? usage.completionTokens : 0,
    latencyMs: round3(performance.now() - state.started),
    ttftMs: state.ttftMs === null ? null : round3(state.ttftMs),
    status: failure ? failure.code : cancelled ? 'CANCELLED' : 'OK',
    reservedTokens: admission.reservation?.tokens ?? 0,
    billed: wasServed
  }
  // The final record goes in the next group commit, after the answer; a restart bills an intent left without one.
  deps.usage.settle(record)
  if (failure) throw failure
  return {
    ...passedThrough(state.final),
    requestId: admission.requestId,
    model: admission.model,
    worker: record.worker,
    text: state.text,
    usage,
    finishReason: state.final?.finishReason ?? 'cancelled',
    timeToFirstTokenMs: record.ttftMs,
    latencyMs: record.latencyMs,
    cached: state.final?.cached ?? false,
    recorded: true
  }
}

/** Fields of the worker's answer the gateway does not interpret itself (tool calls) go to the caller as they are. */
function passedThrough (final: RelayState['final']): Omit<NonNullable<RelayState['final']>, 'model' | 'backend' | 'usage' | 'finishReason' | 'timeToFirstTokenMs' | 'cached'> | null {
  if (!final) return null
  const { model: _model, backend: _backend, usage: _usage, finishReason: _finish, timeToFirstTokenMs: _ttft, cached: _cached, ...rest } = final
  return rest
}

function countTokens (metrics: PlatformMetrics, model: string, usage: { promptTokens: number, completionTokens: number }, ttftMs: number | null): void {
  metrics.tokens.inc({ model, kind: 'prompt' }, usage.promptTokens)
  metrics.tokens.inc({ model, kind: 'completion' }, usage.completionTokens)
  if (ttftMs !== null) metrics.timeToFirstToken.observe({ model }, ttftMs / 1000)
}
