import type { z } from 'zod'
import { loadConfig } from '../shared/config/load-config.js'
import { meshConfigFromFlags, resolveMesh } from '../shared/config/network.js'
import { HyperinferError } from '../shared/errors.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import type { PeerInfo } from '../shared/mesh/discovery.js'
import type { RpcStream } from '../shared/mesh/rpc-stream.js'
import { infer, models, quota, usage, type ChatMessage, type InferResult, type QueuedNotice } from '../shared/schemas/gateway.js'
import type { GenerationChunk } from '../shared/schemas/generation.js'
import { probeHealth } from '../shared/mesh/peer-client.js'
import type { MeshAddress } from '../shared/config/network.js'
import { forgetGateway, rememberedGateway, rememberGateway } from './gateway-memory.js'
import { lastApiKey } from './session.js'

/** How long a remembered gateway may take to answer (connecting included) before the DHT is asked for another. */
const REMEMBERED_GATEWAY_PROBE_MS = 5_000

export interface HyperinferClientOptions {
  /** Default: HYPERINFER_API_KEY, else the last key created with `hyperinfer keys create`. */
  apiKey?: string
  /** Where the devnet file is (HYPERINFER_HOME, default ./.hyperinfer). */
  home?: string
  network?: string
  networkSecret?: string
  bootstrap?: string[]
  publicNetwork?: boolean
  /** A join string from `hyperinfer init` (network, secret and bootstrap at once). */
  join?: string
  /** Reuse a mesh client (it is not closed by close()). */
  mesh?: MeshClient
  /** How long to look for a gateway. */
  discoveryTimeoutMs?: number
  /** Dial the gateway reached last time (kept in the session file) while it answers, instead of a DHT lookup (the CLI does). */
  rememberGateway?: boolean
}

export interface InferOptions {
  model: string
  prompt?: string
  messages?: ChatMessage[]
  system?: string
  maxTokens?: number
  temperature?: number
  topP?: number
  stop?: string[]
  seed?: number
  signal?: AbortSignal
  /** Wait at most this long at the gateway for a worker (the gateway's own limit caps it). */
  queueTimeoutMs?: number
  /** Hears the place in the gateway's queue while the request waits (iterate the call to get these). */
  onQueued? (notice: QueuedNotice): void
}

/**
 * One inference call: iterate it for the text as it streams, or await it for the final result
 * (text, usage, finish reason, latency).
 */
export class InferenceCall implements AsyncIterable<string>, PromiseLike<InferResult> {
  readonly result: Promise<InferResult>
  private readonly stream: Promise<RpcStream<GenerationChunk, InferResult>>

  private readonly onQueued?: (notice: QueuedNotice) => void

  constructor (stream: Promise<RpcStream<GenerationChunk, InferResult>>, onQueued?: (notice: QueuedNotice) => void) {
    this.stream = stream
    this.onQueued = onQueued
    this.result = stream.then(s => s.result)
    this.result.catch(() => {})
  }

  async * [Symbol.asyncIterator] (): AsyncIterator<string> {
    const stream = await this.stream
    for await (const chunk of stream) {
      const { queued } = chunk as { queued?: QueuedNotice }
      if (queued) this.onQueued?.(queued)
      else yield chunk.text
    }
  }

  /** Stop generating; the result still arrives, with the usage of what was produced. */
  async abort (): Promise<void> {
    (await this.stream).abort()
  }

  then<A = InferResult, B = never> (onfulfilled?: ((value: InferResult) => A | PromiseLike<A>) | null, onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return this.result.then(onfulfilled, onrejected)
  }
}

/** The client library: finds a gateway on the mesh and calls it with an API key. */
export class HyperinferClient {
  private readonly opts: HyperinferClientOptions
  private mesh: MeshClient | null
  private readonly ownsMesh: boolean
  /** The mesh this client built its connection for (unknown when given a mesh client). */
  private address: MeshAddress | null = null

  constructor (opts: HyperinferClientOptions = {}) {
    this.opts = opts
    this.mesh = opts.mesh ?? null
    this.ownsMesh = !opts.mesh
  }

  get apiKey (): string {
    const key = this.opts.apiKey ?? process.env.HYPERINFER_API_KEY ?? lastApiKey()
    if (!key) throw new HyperinferError('UNAUTHENTICATED', 'no API key: pass --api-key, set HYPERINFER_API_KEY, or create one with `hyperinfer keys create --name <name>`')
    return key
  }

  infer (options: InferOptions): InferenceCall {
    const messages = options.messages ?? (options.system !== undefined
      ? [{ role: 'system' as const, content: options.system }, { role: 'user' as const, content: options.prompt ?? '' }]
      : undefined)
    const request = {
      apiKey: this.apiKey,
      model: options.model,
      prompt: messages ? undefined : options.prompt,
      messages,
      maxTokens: options.maxTokens,
      temperature: options.temperature,
      topP: options.topP,
      stop: options.stop,
      seed: options.seed,
      queueTimeoutMs: options.queueTimeoutMs
    }
    const open = async (): Promise<RpcStream<GenerationChunk, InferResult>> => {
      const gateway = await this.gateway()
      // chunks are parsed with infer.chunk at runtime; tsc widens their type through this generic call
      return this.meshClient().client(gateway.publicKey).stream(infer, request, { signal: options.signal }) as RpcStream<GenerationChunk, InferResult>
    }
    return new InferenceCall(open(), options.onQueued)
  }

  async models (): Promise<z.output<typeof models.response>> {
    return this.call(models, {})
  }

  async quota (): Promise<z.output<typeof quota.response>> {
    return this.call(quota, { apiKey: this.apiKey })
  }

  async usage (opts: { days?: number, recent?: number, userId?: string } = {}): Promise<z.output<typeof usage.response>> {
    return this.call(usage, { apiKey: this.apiKey, ...opts })
  }

  async close (): Promise<void> {
    if (this.ownsMesh && this.mesh) await this.mesh.close()
    this.mesh = null
  }

  private async call<M extends typeof models | typeof quota | typeof usage> (def: M, request: z.input<M['request']>): Promise<z.output<M['response']>> {
    const gateway = await this.gateway()
    return this.meshClient().client(gateway.publicKey).call(def as never, request as never) as Promise<z.output<M['response']>>
  }

  private async gateway (): Promise<Pick<PeerInfo, 'publicKey'>> {
    const mesh = this.meshClient()
    const address = this.address
    const remembered = this.opts.rememberGateway && address ? rememberedGateway(address) : null
    if (remembered) {
      const answer = await probeHealth(mesh.client(remembered), { timeoutMs: REMEMBERED_GATEWAY_PROBE_MS }).catch(() => null)
      if (answer?.role === 'gateway' && await mesh.trust.isApproved('gateway', remembered)) return { publicKey: remembered }
      forgetGateway()
    }
    // Only a gateway the auth node approved gets the API key and the prompt.
    const gateways = await mesh.trust.peers('gateway', this.opts.discoveryTimeoutMs ?? 15_000)
    const chosen = gateways[Math.floor(Math.random() * gateways.length)]
    if (this.opts.rememberGateway && address) rememberGateway(address, chosen.publicKey)
    return chosen
  }

  private meshClient (): MeshClient {
    if (this.mesh) return this.mesh
    const { home, network, networkSecret, bootstrap, publicNetwork, join } = this.opts
    const address = resolveMesh(loadConfig({ flags: meshConfigFromFlags({ home, network, networkSecret, bootstrap, publicNetwork, join }) }))
    this.address = address
    this.mesh = new MeshClient(address)
    return this.mesh
  }
}
