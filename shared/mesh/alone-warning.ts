import type { Logger } from '../log.js'
import type { Discovery } from './discovery.js'
import { ROLES } from './topic.js'

export const ALONE_AFTER_MS = 30_000

/**
 * A node with the wrong network name or secret announces on topics nobody else looks at and
 * is never found, while looking perfectly healthy. After `afterMs` with no peer of any role, say
 * so; look again every `afterMs` until a peer shows up, then say that once and stop.
 */
export function warnWhenAlone (discovery: Discovery, networkName: string, log: Logger, afterMs = ALONE_AFTER_MS): { close (): void } {
  let warned = false
  let checking = false
  const check = async (): Promise<void> => {
    if (checking) return
    checking = true
    try {
      const found = await Promise.all(ROLES.map(role => discovery.refresh(role).catch(() => [])))
      const peers = found.reduce((sum, live) => sum + live.length, 0)
      if (peers === 0) {
        if (!warned) log.warn({ network: networkName }, `no peers found on network ${networkName} after ${Math.round(afterMs / 1000)} s: check --network-secret (and --network, --bootstrap)`)
        warned = true
        return
      }
      if (warned) log.info({ network: networkName, peers }, `found ${peers} peer(s) on network ${networkName}`)
      clearInterval(timer)
    } finally {
      checking = false
    }
  }
  const timer = setInterval(() => { check().catch(() => {}) }, afterMs)
  timer.unref()
  return { close: () => { clearInterval(timer) } }
}
