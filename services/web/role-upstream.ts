import type { z } from 'zod'
import { HyperinferError } from '../../shared/errors.js'
import type { StreamMethodDef, UnaryMethodDef } from '../../shared/mesh/method.js'
import type { MeshNode } from '../../shared/mesh/mesh-node.js'
import type { RpcStream } from '../../shared/mesh/rpc-stream.js'
import type { NodeRole } from '../../shared/mesh/topic.js'

export interface UpstreamOptions {
  callTimeoutMs: number
  discoveryTimeoutMs: number
}

/**
 * The web node's way to the other roles: find a live node of the role by discovery, call it
 * with a timeout, and report peers that fail so discovery marks them down.
 */
export class RoleUpstream {
  private readonly node: MeshNode
  private readonly opts: UpstreamOptions

  constructor (node: MeshNode, opts: UpstreamOptions) {
    this.node = node
    this.opts = opts
  }

  async call<M extends UnaryMethodDef> (role: NodeRole, def: M, request: z.input<M['request']>, timeoutMs = this.opts.callTimeoutMs): Promise<z.output<M['response']>> {
    const peer = await this.pick(role)
    try {
      return await this.node.client(peer).call(def, request, { timeoutMs: Math.min(timeoutMs, def.timeoutMs ?? timeoutMs) })
    } catch (err) {
      if (err instanceof HyperinferError && (err.code === 'UNAVAILABLE' || err.code === 'TIMEOUT')) this.node.discovery.reportFailure(role, peer)
      throw err
    }
  }

  async stream<M extends StreamMethodDef> (role: NodeRole, def: M, request: z.input<M['request']>, signal?: AbortSignal): Promise<RpcStream<z.output<M['chunk']>, z.output<M['response']>>> {
    const peer = await this.pick(role)
    return this.node.client(peer).stream(def, request, { signal, idleTimeoutMs: def.timeoutMs ?? this.opts.callTimeoutMs })
  }

  /** Passwords and sessions go to the pinned auth node, keys and prompts to approved nodes only. */
  private async pick (role: NodeRole): Promise<Buffer> {
    if (role === 'auth') return this.node.trust.auth(this.opts.discoveryTimeoutMs)
    const live = await this.waitFor(role)
    return live[Math.floor(Math.random() * live.length)].publicKey
  }

  private async waitFor (role: NodeRole): Promise<{ publicKey: Buffer }[]> {
    try {
      return await this.node.trust.peers(role, this.opts.discoveryTimeoutMs)
    } catch (err) {
      if (err instanceof HyperinferError) throw new HyperinferError('UNAVAILABLE', `no ${role} node is reachable right now; is the mesh running?`)
      throw err
    }
  }
}
