import { join } from 'node:path'
import { AccountReplica } from '../../shared/accounts/replica.js'
import type { GatewayConfig } from '../../shared/config/gateway.js'
import type { MeshNode } from '../../shared/mesh/mesh-node.js'
import type { GatewayHealthDetails } from '../../shared/schemas/health-details.js'
import { defineRole, type StartedRole, type StartOptions } from '../../shared/role/define-role.js'
import { startRole } from '../../shared/role/start-role.js'
import { ActivityTracker } from './activity.js'
import { gatewayMethods } from './api.js'
import { capacityFetcher, startDispatch } from './dispatch.js'
import type { InferDeps } from './infer.js'
import { KeyTouches } from './key-touches.js'
import { RequestRateLimiter } from './request-rate-limiter.js'
import { HOUR_MS, restoreFromLog } from './restore-from-log.js'
import { IntentJournal } from './intent-journal.js'
import { TokenQuota } from './token-quota.js'
import { logUnapprovedWorkers } from './unapproved-workers.js'
import { UsageLog } from './usage-log.js'
import { WorkerPool } from './worker-pool.js'

export interface GatewayHandles {
  readonly accounts: AccountReplica
  readonly usage: UsageLog
  readonly pool: WorkerPool
}

const GAUGES_EVERY_MS = 5_000

/**
 * The front door: checks keys on its account replica, applies rate limits and token quotas,
 * routes to approved workers, relays streams and records usage in its own Hyperbee.
 */
export const gatewayRole = defineRole<'gateway', GatewayHandles>({
  role: 'gateway',
  describe: 'the front door: API keys, rate limits, quotas, routing to workers, usage',
  configSection: 'gateway',
  refreshIntervalMs: config => config.discoveryIntervalMs,
  async build (node, config, options) {
    const accounts = await new AccountReplica(node, { authKey: options.authKey }).open()
    node.access.attach(accounts.nodes)
    const { usage, journal, limiter, quota } = await openUsage(node, config)
    const pool = new WorkerPool({ discovery: node.discovery, isApproved: id => accounts.isWorkerApproved(id), log: node.log, metrics: node.metrics, fetchCapacity: capacityFetcher(node) })
    const dispatch = startDispatch(pool, node, config)
    const unapprovedNotice = logUnapprovedWorkers(() => pool.unapproved(), node.log)
    const touches = new KeyTouches(node, config.touchKeysIntervalMs)
    const activity = new ActivityTracker()
    const deps: InferDeps = {
      node, accounts, pool, limiter, quota, usage, activity, touches,
      queue: dispatch.queue,
      positionIntervalMs: config.queue.positionIntervalMs,
      maxAttempts: config.maxAttempts,
      workerIdleTimeoutMs: config.workerIdleTimeoutMs,
      workerFirstTokenTimeoutMs: config.workerFirstTokenTimeoutMs
    }
    const gauges = setInterval(() => { activity.publish(node.metrics) }, GAUGES_EVERY_MS)
    gauges.unref()
    activity.publish(node.metrics)
    node.discovery.watch('auth')
    return {
      methods: gatewayMethods(deps),
      health: () => {
        const models = [...pool.models().keys()]
        return { status: models.length > 0 ? 'up' : 'degraded', details: { models, unapprovedWorkers: pool.unapproved().length } satisfies GatewayHealthDetails }
      },
      handles: { accounts, usage, pool } satisfies GatewayHandles,
      async close () {
        clearInterval(gauges)
        touches.close()
        unapprovedNotice.close()
        dispatch.close()
        pool.close()
        await usage.drain()
        journal.close()
        accounts.close()
      }
    }
  }
})

/** The usage log, and the limits and quotas it restores after a restart. */
async function openUsage (node: MeshNode, config: GatewayConfig): Promise<{ usage: UsageLog, journal: IntentJournal, limiter: RequestRateLimiter, quota: TokenQuota }> {
  const { journal, leftover, settled, leftoverFiles } = IntentJournal.open(join(node.dataDir, 'intents'))
  const usage = new UsageLog(await node.ownBee('usage'), {
    journal,
    maxBatch: config.usageBatch,
    onError: err => { node.log.error({ err }, 'usage records not written; a restart bills their intents at the reservation') }
  })
  const limiter = new RequestRateLimiter(HOUR_MS)
  const quota = new TokenQuota()
  await usage.recover(leftover, settled, leftoverFiles)
  await restoreFromLog(usage, limiter, quota)
  return { usage, journal, limiter, quota }
}

export type GatewayNode = StartedRole<GatewayHandles>

/** A gateway in this process (tests, benches). */
export function createGatewayNode (options: StartOptions<'gateway'>): Promise<GatewayNode> {
  return startRole(gatewayRole, options)
}
