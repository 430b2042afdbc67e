import type { PlatformMetrics } from '../../shared/metrics.js'

const WINDOWS = [{ label: '1h', ms: 60 * 60 * 1000 }, { label: '24h', ms: 24 * 60 * 60 * 1000 }]

/** Distinct users seen in the last hour and day, for ai_platform_active_users. */
export class ActivityTracker {
  private readonly lastSeen = new Map<string, number>()

  seen (userId: string, at = Date.now()): void {
    const previous = this.lastSeen.get(userId) ?? 0
    if (at > previous) this.lastSeen.set(userId, at)
  }

  publish (metrics: PlatformMetrics, now = Date.now()): void {
    for (const [userId, at] of this.lastSeen) if (at < now - WINDOWS[1].ms) this.lastSeen.delete(userId)
    for (const { label, ms } of WINDOWS) {
      let count = 0
      for (const at of this.lastSeen.values()) if (at >= now - ms) count++
      metrics.activeUsers.set({ time_window: label }, count)
    }
  }
}
