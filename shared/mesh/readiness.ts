import type RPC from '@hyperswarm/rpc'
import { HyperinferError } from '../errors.js'
import * as authSchemas from '../schemas/auth.js'
import * as gatewaySchemas from '../schemas/gateway.js'
import * as inferenceSchemas from '../schemas/inference.js'
import * as metricsSchemas from '../schemas/metrics.js'
import type { MethodDef } from './method.js'
import type { NodeRole } from './topic.js'
import { encode } from './wire.js'

/** How soon a caller may try a node that is still starting. */
export const NOT_READY_RETRY_MS = 1_000

const SCHEMAS_BY_ROLE: Record<NodeRole, Record<string, unknown>> = {
  auth: authSchemas,
  gateway: gatewaySchemas,
  inference: inferenceSchemas,
  metrics: metricsSchemas,
  web: {}
}

/** Every method a role's schemas define (the role serves them once it is ready). */
export function methodsOfRole (role: NodeRole): MethodDef[] {
  // A role the product does not define (a test fixture's) has no placeholders.
  return Object.values(SCHEMAS_BY_ROLE[role] ?? {}).filter(isMethodDef)
}

/**
 * Until a role has built its handlers, its methods answer UNAVAILABLE with a retry hint instead of
 * protomux-rpc's UNKNOWN_METHOD (a restarting gateway used to refuse every call that way for the
 * 25 s between listening and ready). Serving the real handler later replaces the placeholder; one
 * still in place after the node is ready answers UNKNOWN_METHOD: the role does not serve it.
 */
export function servePlaceholders (server: RPC.Server, methods: MethodDef[], isReady: () => boolean, role: NodeRole): void {
  for (const def of methods) {
    server.respond(def.name, () => {
      const error = isReady()
        ? new HyperinferError('UNKNOWN_METHOD', `${def.name}: this ${role} node does not serve this method`)
        : new HyperinferError('UNAVAILABLE', `${def.name}: this ${role} node is still starting; retry in ${NOT_READY_RETRY_MS} ms`, { retryAfterMs: NOT_READY_RETRY_MS })
      return encode({ ok: false, e: error.toWire() })
    })
  }
}

function isMethodDef (value: unknown): value is MethodDef {
  if (typeof value !== 'object' || value === null) return false
  const def = value as Partial<MethodDef>
  return typeof def.name === 'string' && typeof def.timeoutMs === 'number' && typeof def.maxRequestBytes === 'number' && def.request !== undefined
}
