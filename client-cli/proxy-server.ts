import Fastify from 'fastify'
import { HyperinferError } from '../shared/errors.js'
import { gatewayUpstream, ollamaCompat, openAICompat, type GatewayTransport, type KeyPolicy } from '../shared/http-compat/index.js'
import type { MeshClient } from '../shared/mesh/mesh-client.js'
import type { PeerInfo } from '../shared/mesh/discovery.js'

export interface ProxyOptions {
  mesh: MeshClient
  /** Used for requests that bring no hi_ key of their own. */
  defaultKey: string | null
  host: string
  port: number
  /** How long to look for a gateway. */
  discoveryTimeoutMs?: number
}

export interface Proxy {
  /** e.g. http://127.0.0.1:11435 */
  readonly url: string
  close (): Promise<void>
}

/**
 * The OpenAI and Ollama APIs on this machine, forwarded over RPC to a gateway the mesh client
 * finds: nothing on the mesh opens an HTTP port, and it works from behind NAT.
 */
export async function startProxy (opts: ProxyOptions): Promise<Proxy> {
  const upstream = gatewayUpstream(meshTransport(opts.mesh, opts.discoveryTimeoutMs ?? 15_000))
  const keyPolicy = proxyKeyPolicy(opts.defaultKey)
  const app = Fastify({ logger: false, bodyLimit: 2 * 1024 * 1024, forceCloseConnections: true })
  await app.register(openAICompat, { prefix: '/v1', upstream, keyPolicy })
  await app.register(ollamaCompat, { prefix: '/api', upstream, keyPolicy })
  await app.listen({ host: opts.host, port: opts.port })
  const address = app.server.address()
  const port = typeof address === 'object' && address ? address.port : opts.port
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`
  return { url, close: () => app.close() }
}

/** A request's own hi_ key wins; anything else (no key, or the placeholder an SDK insists on) runs with the proxy's key. */
export function proxyKeyPolicy (defaultKey: string | null): KeyPolicy {
  return presented => {
    if (presented !== null && presented.startsWith('hi_')) return presented
    if (defaultKey) return defaultKey
    throw new HyperinferError('UNAUTHENTICATED', 'this proxy has no API key of its own: send "Authorization: Bearer hi_...", or restart it with --api-key / HYPERINFER_API_KEY')
  }
}

function meshTransport (mesh: MeshClient, discoveryTimeoutMs: number): GatewayTransport {
  const gateway = async (): Promise<PeerInfo> => {
    const cached = mesh.discovery.peers('gateway')
    const live = cached.length > 0 ? cached : await mesh.discovery.waitFor('gateway', { timeoutMs: discoveryTimeoutMs })
    return live[Math.floor(Math.random() * live.length)]
  }
  return {
    call: async (def, request, signal) => mesh.client((await gateway()).publicKey).call(def, request, { signal }),
    stream: async (def, request, signal) => mesh.client((await gateway()).publicKey).stream(def, request, { signal })
  }
}
