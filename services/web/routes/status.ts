import type { FastifyInstance } from 'fastify'
import { HyperinferError } from '../../../shared/errors.js'
import { ROLES } from '../../../shared/mesh/topic.js'
import { systemHealth, type MeshNodeHealth } from '../../../shared/schemas/metrics.js'
import { emptyQuery } from '../../../shared/schemas/web.js'
import type { WebContext } from '../web-context.js'
import { validate } from '../errors.js'
import { servedModels } from '../../../shared/schemas/health-details.js'

/**
 * The state of the mesh: the metrics node's systemHealth when one answers, else what this
 * node's own discovery knows (it watches every role).
 */
export function statusRoutes (app: FastifyInstance, ctx: WebContext): void {
  app.get('/api/status', async req => {
    validate(emptyQuery, req.query, 'query')
    if (ctx.node.discovery.peers('metrics').length > 0) {
      try {
        const health = await ctx.upstream.call('metrics', systemHealth, {})
        return { source: 'metrics', ...health, nodes: withApproval(ctx, withSelf(ctx, health.nodes)) }
      } catch (err) {
        if (!(err instanceof HyperinferError)) throw err
        ctx.node.log.debug({ err: err.message }, 'metrics node did not answer; using discovery')
      }
    }
    const nodes = withApproval(ctx, withSelf(ctx, fromDiscovery(ctx)))
    return { source: 'discovery', generatedAt: new Date().toISOString(), status: overall(nodes), nodes, counts: countByRole(nodes) }
  })
}

/** Each node's approval for its role, from this node's replica of the auth node's registry. */
function withApproval (ctx: WebContext, nodes: MeshNodeHealth[]): Array<MeshNodeHealth & { approval: 'approved' | 'not approved' | 'unknown' }> {
  const registry = ctx.accounts()?.nodes
  return nodes.map(node => ({ ...node, approval: !registry ? 'unknown' : registry.isApproved(node.role, node.publicKey) ? 'approved' : 'not approved' }))
}

function fromDiscovery (ctx: WebContext): MeshNodeHealth[] {
  const now = Date.now()
  return ROLES.filter(role => role !== 'web').flatMap(role => ctx.node.discovery.known(role).map(peer => ({
    publicKey: peer.id,
    node: peer.id.slice(0, 12),
    role,
    status: peer.status === 'up' ? (peer.health?.status ?? 'up') : 'down',
    version: peer.health?.version ?? null,
    uptimeSeconds: peer.health?.uptimeSeconds ?? null,
    startedAt: peer.health?.startedAt ?? null,
    lastSeen: peer.lastSeen ? new Date(peer.lastSeen).toISOString() : null,
    lastSeenAgoMs: peer.lastSeen ? now - peer.lastSeen : null,
    models: servedModels(peer.health?.details),
    scrape: { ok: false, error: 'no metrics node', at: null },
    self: false
  })))
}

/** The web node itself is always listed (the metrics node may not have found it yet). */
function withSelf (ctx: WebContext, nodes: MeshNodeHealth[]): MeshNodeHealth[] {
  const self = ctx.node.publicKey.toString('hex')
  if (nodes.some(n => n.publicKey === self)) return nodes.map(n => n.publicKey === self ? { ...n, self: true } : { ...n, self: false })
  const health = ctx.node.health()
  return [...nodes.map(n => ({ ...n, self: false })), {
    publicKey: self,
    node: self.slice(0, 12),
    role: 'web',
    status: health.status,
    version: health.version,
    uptimeSeconds: health.uptimeSeconds,
    startedAt: health.startedAt,
    lastSeen: new Date().toISOString(),
    lastSeenAgoMs: 0,
    models: [],
    scrape: { ok: true, at: null },
    self: true
  }]
}

function overall (nodes: MeshNodeHealth[]): 'up' | 'degraded' | 'down' {
  if (!nodes.some(n => n.status === 'up')) return 'down'
  return nodes.every(n => n.status === 'up') ? 'up' : 'degraded'
}

function countByRole (nodes: MeshNodeHealth[]): Record<string, { up: number, degraded: number, down: number }> {
  const counts: Record<string, { up: number, degraded: number, down: number }> = {}
  for (const n of nodes) {
    counts[n.role] ??= { up: 0, degraded: 0, down: 0 }
    counts[n.role][n.status]++
  }
  return counts
}
