import type { FastifyInstance } from 'fastify'
import { adminApproveWorker, adminListUsers, adminListWorkers, adminRevokeWorker, adminSetPlan, adminSetRole } from '../../../shared/schemas/auth.js'
import { approveWorkerBody, emptyQuery, setPlanBody, setRoleBody, usernameParams, workerParams } from '../../../shared/schemas/web.js'
import { currentUser, type WebContext } from '../web-context.js'
import { validate } from '../errors.js'
import { servedModels } from '../../../shared/schemas/health-details.js'

/** Admin pages' API: users and plans, worker approvals. The auth node checks the admin role. */
export function adminRoutes (app: FastifyInstance, ctx: WebContext): void {
  app.get('/api/admin/users', async (req, reply) => {
    validate(emptyQuery, req.query, 'query')
    const { token } = await currentUser(ctx, req, reply)
    const { users } = await ctx.upstream.call('auth', adminListUsers, { token, limit: 1000 })
    const plans = [...new Set(['default', 'premium', ...users.map(u => u.plan)])].sort()
    return { users, plans }
  })

  app.post('/api/admin/users/:username/plan', async (req, reply) => {
    const { username } = validate(usernameParams, req.params, 'path')
    const { plan } = validate(setPlanBody, req.body)
    const { token } = await currentUser(ctx, req, reply)
    return { user: await ctx.upstream.call('auth', adminSetPlan, { token, username, plan }) }
  })

  app.post('/api/admin/users/:username/role', async (req, reply) => {
    const { username } = validate(usernameParams, req.params, 'path')
    const { role } = validate(setRoleBody, req.body)
    const { token } = await currentUser(ctx, req, reply)
    return { user: await ctx.upstream.call('auth', adminSetRole, { token, username, role }) }
  })

  app.get('/api/admin/workers', async (req, reply) => {
    validate(emptyQuery, req.query, 'query')
    const { token } = await currentUser(ctx, req, reply)
    const { workers } = await ctx.upstream.call('auth', adminListWorkers, { token })
    const seen = ctx.node.discovery.known('inference').map(peer => ({
      publicKey: peer.id,
      status: peer.status,
      models: servedModels(peer.health?.details),
      approved: workers.some(w => w.publicKey === peer.id && w.revokedAt === null)
    }))
    return { workers, seen }
  })

  app.post('/api/admin/workers', async (req, reply) => {
    const body = validate(approveWorkerBody, req.body)
    const { token } = await currentUser(ctx, req, reply)
    return reply.code(201).send({ worker: await ctx.upstream.call('auth', adminApproveWorker, { token, ...body }) })
  })

  app.delete('/api/admin/workers/:publicKey', async (req, reply) => {
    const { publicKey } = validate(workerParams, req.params, 'path')
    const { token } = await currentUser(ctx, req, reply)
    return { worker: await ctx.upstream.call('auth', adminRevokeWorker, { token, publicKey }) }
  })
}
