import type { MeshNode } from '../../shared/mesh/mesh-node.js'
import { touchKeys } from '../../shared/schemas/auth.js'

/** Batches "this key was used" for the auth node, which keeps each key's last-used time. */
export class KeyTouches {
  private pending = new Map<string, { keyId: string, userId: string, lastUsedAt: string }>()
  private readonly timer: NodeJS.Timeout
  private readonly node: MeshNode

  constructor (node: MeshNode, intervalMs: number) {
    this.node = node
    this.timer = setInterval(() => { void this.flush() }, intervalMs)
    this.timer.unref()
  }

  touch (keyId: string, userId: string): void {
    this.pending.set(keyId, { keyId, userId, lastUsedAt: new Date().toISOString() })
  }

  async flush (): Promise<void> {
    if (this.pending.size === 0) return
    const auth = this.node.trust.pinned ? { publicKey: this.node.trust.pinned } : this.node.discovery.peers('auth')[0]
    if (!auth) return
    const keys = [...this.pending.values()].slice(0, 500)
    try {
      await this.node.client(auth.publicKey).call(touchKeys, { keys }, { timeoutMs: 5_000 })
      for (const { keyId, lastUsedAt } of keys) if (this.pending.get(keyId)?.lastUsedAt === lastUsedAt) this.pending.delete(keyId)
    } catch (err) {
      this.node.log.debug({ err }, 'could not send last-used times to the auth node; will retry')
    }
  }

  close (): void {
    clearInterval(this.timer)
  }
}
