import { unary, type ServedMethod } from '../../shared/mesh/rpc-server.js'
import { systemHealth, type SystemHealthResponse } from '../../shared/schemas/metrics.js'

/** The metrics node's RPC methods (besides `health` and `metrics`, which every node serves). */
export function metricsApi (service: { systemHealth (): SystemHealthResponse }): ServedMethod[] {
  return [
    unary(systemHealth, () => service.systemHealth())
  ]
}
