import { HyperinferError } from '../../shared/errors.js'
import { unary, type ServedMethod } from '../../shared/mesh/rpc-server.js'
import * as api from '../../shared/schemas/auth.js'
import type { AuthApiDeps, CallerCheck } from './caller-check.js'
import { nodeView, userView } from './views.js'

/** For admins: users, plans and roles, workers and nodes approved, the audit log; and the approved-node list every node reads. */
export function adminMethods ({ store, config, nodes }: AuthApiDeps, callers: CallerCheck): ServedMethod[] {
  return [
    unary(api.adminListUsers, async ({ token, after, limit }) => {
      await callers.admin(token)
      return { users: (await store.listUsers(after, limit ?? 100)).map(userView) }
    }),

    unary(api.adminSetPlan, async ({ token, username, plan }) => {
      const admin = await callers.admin(token)
      if (!(plan in config.plans)) throw new HyperinferError('INVALID_ARGUMENT', `unknown plan "${plan}": one of ${Object.keys(config.plans).join(', ')}`)
      return userView(await store.updateUser(username, { plan }, admin.username))
    }),

    unary(api.adminSetRole, async ({ token, username, role }) => {
      const admin = await callers.admin(token)
      return userView(await store.updateUser(username, { role }, admin.username))
    }),

    unary(api.adminApproveWorker, async ({ token, publicKey, note }) => {
      const admin = await callers.admin(token)
      return store.setWorker(publicKey, true, admin.username, note)
    }),

    unary(api.adminRevokeWorker, async ({ token, publicKey }) => {
      const admin = await callers.admin(token)
      return store.setWorker(publicKey, false, admin.username)
    }),

    unary(api.adminListWorkers, async ({ token }) => {
      await callers.admin(token)
      return { workers: await store.listWorkers() }
    }),

    unary(api.adminAudit, async ({ token, before, limit }) => {
      await callers.admin(token)
      return { entries: await store.readAudit(before, limit ?? 100) }
    }),

    unary(api.adminApproveNode, async ({ token, role, publicKey, note }) => {
      const admin = await callers.admin(token)
      return nodeView(await store.setNode(role, publicKey, true, admin.username, note))
    }),

    unary(api.adminRevokeNode, async ({ token, role, publicKey }) => {
      const admin = await callers.admin(token)
      return nodeView(await store.setNode(role, publicKey, false, admin.username))
    }),

    unary(api.adminListNodes, async ({ token, role }) => {
      await callers.admin(token)
      return { nodes: (await store.listNodes(role)).map(nodeView) }
    }),

    unary(api.approvedNodes, ({ role }) => ({ role, publicKeys: nodes.approved(role) }))
  ]
}
