import { join } from 'node:path'
import { accessFor } from '../../shared/accounts/node-access.js'
import { AccountReplica } from '../../shared/accounts/replica.js'
import type { GatewayConfig } from '../../shared/config/gateway.js'
import type { BootstrapNode } from '../../shared/mesh/dht.js'
import { MeshNode } from '../../shared/mesh/mesh-node.js'
import type { NetworkId } from '../../shared/mesh/topic.js'
import type { Logger } from '../../shared/log.js'
import { gatewaySection } from '../../shared/config/gateway.js'
import { ActivityTracker } from './activity.js'
import { gatewayMethods } from './api.js'
import { KeyTouches } from './key-touches.js'
import { SlidingWindowLimiter } from './rate-limiter.js'
import { TokenQuota, utcDay } from './token-quota.js'
import { UsageLog } from './usage-log.js'
import { IntentJournal } from './intent-journal.js'
import { WorkerPool } from './worker-pool.js'
import { capacityFetcher, startDispatch } from './dispatch.js'
import { logUnapprovedWorkers } from './unapproved-workers.js'

export interface GatewayNodeOptions {
  /** The pinned auth node (network.authKey): without it the node checks no caller. */
  authKey?: Buffer
  dataDir: string
  network: NetworkId
  bootstrap?: BootstrapNode[]
  publicNetwork?: boolean
  log?: Logger
  config?: Partial<GatewayConfig>
}

export interface GatewayNode {
  readonly node: MeshNode
  readonly accounts: AccountReplica
  readonly usage: UsageLog
  readonly pool: WorkerPool
  close (): Promise<void>
}

const HOUR_MS = 60 * 60 * 1000

/**
 * The front door: checks keys on its account replica, applies rate limits and token quotas,
 * routes to approved workers, relays streams and records usage in its own Hyperbee.
 */
export async function createGatewayNode (options: GatewayNodeOptions): Promise<GatewayNode> {
  const config = gatewaySection.parse(options.config ?? {})
  const activity = new ActivityTracker()
  let pool: WorkerPool | undefined
  const node = new MeshNode({
    role: 'gateway',
    access: accessFor(options.authKey),
    authKey: options.authKey,
    dataDir: options.dataDir,
    network: options.network,
    bootstrap: options.bootstrap,
    publicNetwork: options.publicNetwork,
    log: options.log,
    announce: false,
    refreshIntervalMs: config.discoveryIntervalMs,
    healthCheck: () => {
      const models = pool ? [...pool.models().keys()] : []
      return { status: models.length > 0 ? 'up' : 'degraded', details: { models, unapprovedWorkers: pool?.unapproved().length ?? 0 } }
    }
  })
  await node.open()
  try {
    const accounts = await new AccountReplica(node, { authKey: options.authKey }).open()
    node.access.attach(accounts.nodes)
    const { journal, leftover, leftoverFiles } = IntentJournal.open(join(options.dataDir, 'intents'))
    const usage = new UsageLog(await node.ownBee('usage'), {
      journal,
      maxBatch: config.usageBatch,
      onError: err => { node.log.error({ err }, 'usage records not written; a restart bills their intents at the reservation') }
    })
    const limiter = new SlidingWindowLimiter(HOUR_MS)
    const quota = new TokenQuota()
    await usage.recover(leftover, leftoverFiles)
    await restoreFromLog(usage, limiter, quota)
    pool = new WorkerPool({ discovery: node.discovery, isApproved: id => accounts.isWorkerApproved(id), log: node.log, metrics: node.metrics, fetchCapacity: capacityFetcher(node) })
    const dispatch = startDispatch(pool, node, config)
    const unapprovedNotice = logUnapprovedWorkers(() => pool?.unapproved() ?? [], node.log)
    const touches = new KeyTouches(node, config.touchKeysIntervalMs)
    const deps = {
      node, accounts, pool, limiter, quota, usage, activity,
      queue: dispatch.queue,
      positionIntervalMs: config.queue.positionIntervalMs,
      maxAttempts: config.maxAttempts,
      workerIdleTimeoutMs: config.workerIdleTimeoutMs,
      workerFirstTokenTimeoutMs: config.workerFirstTokenTimeoutMs,
      touches
    }
    node.serve(gatewayMethods(deps))
    const gauges = setInterval(() => { activity.publish(node.metrics) }, 5_000)
    gauges.unref()
    activity.publish(node.metrics)
    node.discovery.watch('auth')
    await node.discovery.announce('gateway')
    const workerPool = pool
    return {
      node, accounts, usage, pool: workerPool,
      async close () {
        clearInterval(gauges)
        touches.close()
        unapprovedNotice.close()
        dispatch.close()
        workerPool.close()
        await usage.drain()
        journal.close()
        accounts.close()
        await node.close()
      }
    }
  } catch (err) {
    await node.close()
    throw err
  }
}

/** After a restart, limits and quotas continue from the request log instead of starting over. */
async function restoreFromLog (usage: UsageLog, limiter: SlidingWindowLimiter, quota: TokenQuota): Promise<void> {
  const now = Date.now()
  const today = utcDay(now)
  const windowStart = new Date(Math.min(now - HOUR_MS, Date.parse(today))).toISOString()
  await usage.settleLegacyIntents()
  const byKey = new Map<string, number[]>()
  for await (const record of usage.requestsSince(windowStart)) {
    // Refunded requests (no worker served them) count against nothing.
    if (record.billed === false) continue
    const at = Date.parse(record.at)
    if (at > now - HOUR_MS) {
      for (const id of [`key:${record.keyId}`, `user:${record.userId}`]) {
        const times = byKey.get(id) ?? []
        times.push(at)
        byKey.set(id, times)
      }
    }
    if (record.at.startsWith(today)) quota.add(record.userId, today, record.promptTokens + record.completionTokens)
  }
  for (const [id, times] of byKey) limiter.restore(id, times)
}
