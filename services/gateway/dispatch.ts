import type { GatewayConfig } from '../../shared/config/gateway.js'
import type { MeshNode } from '../../shared/mesh/mesh-node.js'
import { inferenceCapacity } from '../../shared/schemas/capacity.js'
import { AdmissionQueue } from './admission-queue.js'
import type { FetchCapacity } from './capacity-watch.js'
import { unservedError } from './admit.js'
import type { WorkerPool } from './worker-pool.js'

const CAPACITY_WAIT_MS = 10_000
const SWEEP_EVERY_MS = 1_000

/** The long poll a gateway keeps open to each worker for its free slots. */
export function capacityFetcher (node: MeshNode): FetchCapacity {
  return (publicKey, since, signal) => node.client(publicKey).call(inferenceCapacity, { since, waitMs: CAPACITY_WAIT_MS }, { timeoutMs: CAPACITY_WAIT_MS + 5_000, signal })
}

/**
 * The admission queue fed by the worker pool: a slot that frees (a request ends, a worker
 * pushes its capacity, a worker joins) goes to the fairest waiting request; requests for a model
 * no worker has served for a few discovery rounds end with MODEL_UNAVAILABLE.
 */
export function startDispatch (pool: WorkerPool, node: MeshNode, config: GatewayConfig): { queue: AdmissionQueue, close (): void } {
  const queue = new AdmissionQueue({
    ...config.queue,
    metrics: node.metrics,
    claim: (model, avoid) => {
      const worker = pool.withRoom(model, avoid)
      return worker ? pool.claim(worker, model) : null
    }
  })
  const onRoom = (): void => { queue.pump() }
  pool.on('room', onRoom)
  const graceMs = Math.max(2_000, 3 * config.discoveryIntervalMs)
  const sweep = setInterval(() => {
    queue.sweep(model => pool.candidates(model).length > 0, graceMs, model => unservedError(pool, model))
  }, SWEEP_EVERY_MS)
  sweep.unref()
  return {
    queue,
    close () {
      clearInterval(sweep)
      pool.off('room', onRoom)
    }
  }
}
