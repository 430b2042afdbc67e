import type { z } from 'zod'
import { toHyperinferError } from '../../shared/errors.js'
import type { CallContext } from '../../shared/mesh/rpc-server.js'
import type { embed } from '../../shared/schemas/gateway.js'
import { inferenceEmbed } from '../../shared/schemas/inference.js'
import { admit, authenticate, isServed, unservedError, untaken } from './admit.js'
import { bill } from './bill.js'
import type { InferDeps } from './infer.js'
import { newRelayState, type RelayState } from './relay.js'

type EmbedRequest = z.output<typeof embed.request>
type EmbedResponse = z.output<typeof embed.response>

/**
 * Embeddings through the gateway: the same key check, hourly limits, token quota, fair queue and
 * usage log as inference (admit, then bill). The input counts as prompt tokens; no completion.
 */
export async function runEmbed (deps: InferDeps, req: EmbedRequest, ctx: CallContext): Promise<EmbedResponse> {
  const account = authenticate(deps.accounts, req.apiKey)
  const input = typeof req.input === 'string' ? [req.input] : req.input
  const inputText = JSON.stringify(input)
  const admitDeps = { ...deps, metrics: deps.node.metrics }
  ctx.setModel(req.model)
  const state = newRelayState()
  if (!await isServed(deps.pool, req.model)) {
    state.failure = unservedError(deps.pool, req.model)
    await bill(admitDeps, untaken(admitDeps, account, req.model, inputText), state, false)
  }
  const admission = admit(admitDeps, account, req.model, inputText, 0)
  let embeddings: number[][] = []
  try {
    embeddings = await embedOnWorker(deps, req.model, input, account, ctx, state)
  } catch (err) {
    state.failure = toHyperinferError(err)
  }
  const billed = await bill(admitDeps, admission, state, ctx.signal.aborted)
  return { requestId: billed.requestId, model: req.model, embeddings, usage: { promptTokens: billed.usage.promptTokens, totalTokens: billed.usage.totalTokens }, recorded: billed.recorded }
}

async function embedOnWorker (deps: InferDeps, model: string, input: string[], account: { userId: string, plan: string }, ctx: CallContext, state: RelayState): Promise<number[][]> {
  const lease = await deps.queue.wait(model, account.userId, account.plan, { signal: ctx.signal }).lease
  state.worker = lease.worker
  state.attempts++
  try {
    const answer = await deps.node.client(lease.worker.peer.publicKey).call(inferenceEmbed, { model, input }, { signal: AbortSignal.any([ctx.signal, lease.signal]) })
    const { promptTokens } = answer.usage
    state.final = { model, backend: answer.backend, usage: { promptTokens, completionTokens: 0, totalTokens: promptTokens }, finishReason: 'stop', timeToFirstTokenMs: null, cached: false }
    lease.end(performance.now() - state.started)
    return answer.embeddings
  } catch (err) {
    lease.end(null)
    const failure = toHyperinferError(err)
    if (failure.code === 'UNAVAILABLE' || failure.code === 'TIMEOUT') deps.pool.reportFailure(lease.worker)
    throw failure
  }
}
