import { LRUCache } from 'lru-cache'
import { HyperinferError } from '../../shared/errors.js'
import type { Logger } from '../../shared/log.js'
import type { PeerInfo } from '../../shared/mesh/discovery.js'
import { modelsOf } from './worker-pool.js'

const CHECK_EVERY_MS = 5_000

export function approveCommand (publicKeyHex: string): string {
  return `hyperinfer admin approve-worker ${publicKeyHex}`
}

/**
 * Tells the operator, once per worker, that a worker was found but gateways will not route to
 * it until an admin approves it. The first look waits one period so the accounts replica has
 * caught up and approved workers are not reported.
 */
export function logUnapprovedWorkers (unapproved: () => PeerInfo[], log: Logger, everyMs = CHECK_EVERY_MS): { check (): void, close (): void } {
  const told = new LRUCache<string, true>({ max: 10_000 })
  const check = (): void => {
    for (const peer of unapproved()) {
      if (told.has(peer.id)) continue
      told.set(peer.id, true)
      log.warn({ worker: peer.id, models: modelsOf(peer) },
        `worker ${peer.id} serves ${modelsOf(peer).join(', ') || 'no models yet'} but is not approved: run \`${approveCommand(peer.id)}\``)
    }
  }
  const timer = setInterval(check, everyMs)
  timer.unref()
  return { check, close: () => { clearInterval(timer) } }
}

/** MODEL_UNAVAILABLE that says when the model is there but its workers await approval. */
export function modelUnavailable (model: string, unapproved: PeerInfo[]): HyperinferError {
  const waiting = unapproved.filter(peer => modelsOf(peer).includes(model))
  if (waiting.length === 0) {
    return new HyperinferError('MODEL_UNAVAILABLE', `no approved worker serves model "${model}" right now; see \`hyperinfer models\``)
  }
  const keys = waiting.map(peer => peer.id)
  return new HyperinferError('MODEL_UNAVAILABLE',
    `model "${model}" is served by ${waiting.length} worker(s) that are not approved yet; an admin runs \`${approveCommand(keys[0])}\``,
    { details: { unapprovedWorkers: keys } })
}
