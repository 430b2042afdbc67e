import type { NodeRole } from '../shared/mesh/topic.js'
import type { AnyRoleDefinition } from '../shared/role/define-role.js'

/** Every role of the product, loaded on demand (a process runs one). */
export const ROLE_DEFINITIONS: Record<NodeRole, () => Promise<AnyRoleDefinition>> = {
  auth: async () => (await import('./auth/role.js')).authRole,
  gateway: async () => (await import('./gateway/role.js')).gatewayRole,
  inference: async () => (await import('./inference/role.js')).inferenceRole,
  metrics: async () => (await import('./metrics/role.js')).metricsRole,
  web: async () => (await import('./web/role.js')).webRole
}
