import type { z } from 'zod'
import type { AccountReplica } from '../../shared/accounts/replica.js'
import { toHyperinferError } from '../../shared/errors.js'
import type { MeshNode } from '../../shared/mesh/mesh-node.js'
import type { CallContext } from '../../shared/mesh/rpc-server.js'
import type { inferRequest, InferResult } from '../../shared/schemas/gateway.js'
import type { ActivityTracker } from './activity.js'
import type { AdmissionQueue } from './admission-queue.js'
import { admit, authenticate, isServed, untaken, unservedError, type Admission } from './admit.js'
import { bill } from './bill.js'
import type { RequestRateLimiter } from './request-rate-limiter.js'
import { newRelayState, relay, shouldRetry, type Generation, type InferChunk, type RelayState } from './relay.js'
import type { TokenQuota } from './token-quota.js'
import type { UsageLog } from './usage-log.js'
import type { Lease, WorkerPool } from './worker-pool.js'

export { authenticate } from './admit.js'

export type InferRequest = z.output<typeof inferRequest>

export interface InferDeps {
  node: MeshNode
  accounts: AccountReplica
  pool: WorkerPool
  queue: AdmissionQueue
  limiter: RequestRateLimiter
  quota: TokenQuota
  usage: UsageLog
  activity: ActivityTracker
  maxAttempts: number
  workerIdleTimeoutMs: number
  workerFirstTokenTimeoutMs: number
  /** How often a waiting stream hears its position. */
  positionIntervalMs: number
  /** Last-used times of keys, for the auth node. */
  touches: { touch (keyId: string, userId: string): void }
}

/** A queued stream hears its position again at the latest after this many intervals, so its caller's idle timer never fires. */
const NOTICE_REPEAT = 10

/**
 * One inference request through the gateway: admit (key, model, limits, quota), wait in the
 * fair queue for a worker slot, relay the stream (back to the queue when a worker fails before
 * its first token), and bill — or refund when no worker served it.
 */
export async function * runInference (deps: InferDeps, req: InferRequest, ctx: CallContext): AsyncGenerator<InferChunk, InferResult> {
  const { apiKey, queueTimeoutMs, ...generation } = req
  const account = authenticate(deps.accounts, apiKey)
  const promptText = req.prompt ?? JSON.stringify(req.messages)
  const metrics = deps.node.metrics
  const admitDeps = { ...deps, metrics }
  ctx.setModel(req.model)
  const state = newRelayState()
  if (!await isServed(deps.pool, req.model)) {
    state.failure = unservedError(deps.pool, req.model)
    return await bill(admitDeps, untaken(admitDeps, account, req.model, promptText), state, false)
  }
  const admission = admit(admitDeps, account, req.model, promptText, req.maxTokens)
  try {
    yield * serve(deps, admission, generation, queueTimeoutMs, ctx, state)
  } catch (err) {
    state.failure = toHyperinferError(err)
  }
  return await bill(admitDeps, admission, state, ctx.signal.aborted)
}

/** Queue, relay, and back to the queue while a retry may help. */
async function * serve (deps: InferDeps, admission: Admission, generation: Generation, queueTimeoutMs: number | undefined, ctx: CallContext, state: RelayState): AsyncGenerator<InferChunk, void> {
  let waitedMs = 0
  const tried = new Set<string>()
  for (let again = false; ; again = true) {
    const entered = performance.now()
    const lease = yield * waitForSlot(deps, admission, ctx, { timeoutMs: queueTimeoutMs, waitedMs, again, avoid: tried })
    waitedMs += performance.now() - entered
    yield * relay(deps, lease, generation, ctx, state)
    if (!shouldRetry(state, deps.maxAttempts, ctx.signal)) return
    const failed = lease.worker.peer.id
    // Every worker tried once: from now on only the one that just failed is passed over.
    if (deps.pool.candidates(admission.model).every(c => c.peer.id === failed || tried.has(c.peer.id))) tried.clear()
    tried.add(failed)
    deps.node.log.info({ worker: state.worker?.peer.id.slice(0, 12), code: state.failure?.code }, 'worker failed before the first token; back to the queue')
  }
}

/** Waits for a worker slot, telling the caller its place in the queue once it waits a while. */
async function * waitForSlot (deps: InferDeps, admission: Admission, ctx: CallContext, opts: { timeoutMs?: number, waitedMs: number, again: boolean, avoid: ReadonlySet<string> }): AsyncGenerator<InferChunk, Lease> {
  const { account, model } = admission
  const ticket = deps.queue.wait(model, account.userId, account.plan, { signal: ctx.signal, ...opts })
  let told = 0
  let quiet = 0
  for (;;) {
    let timer: NodeJS.Timeout | undefined
    const tick = new Promise<null>(resolve => { timer = setTimeout(resolve, deps.positionIntervalMs, null) })
    const lease = await Promise.race([ticket.lease, tick]).finally(() => { clearTimeout(timer) })
    if (lease) return lease
    const position = ticket.position()
    if (position === 0 || ctx.signal.aborted) continue
    if (position !== told || ++quiet >= NOTICE_REPEAT) {
      told = position
      quiet = 0
      yield { text: '', queued: { position, waitedMs: Math.round(opts.waitedMs + performance.now() - ticket.enteredAt) } }
    }
  }
}
