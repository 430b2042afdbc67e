import type { RoleProgram } from '../../shared/runner.js'
import { createGatewayNode } from './index.js'

export const program: RoleProgram = {
  role: 'gateway',
  describe: 'the front door: API keys, rate limits, quotas, routing to workers, usage',
  async start ({ config, node, log }) {
    const gateway = await createGatewayNode({
      ...node,
      config: config.gateway
    })
    log.info({ publicKey: gateway.node.publicKey.toString('hex') }, 'gateway ready')
    return gateway
  }
}
