import type { z } from 'zod'
import type { StreamMethodDef, UnaryMethodDef } from '../mesh/method.js'
import { embed, infer, models, quota, type InferResult } from '../schemas/gateway.js'

export type GatewayChunk = z.output<NonNullable<typeof infer.chunk>>
export type GatewayModels = z.output<typeof models.response>
export type GatewayEmbedding = z.output<typeof embed.response>
export type GatewayQuota = z.output<typeof quota.response>

/** A generation as it streams back: chunks (text, tool-call pieces, queue notices), then the billed result. */
export interface GenerationStream extends AsyncIterable<GatewayChunk> {
  readonly result: Promise<InferResult>
}

/** What the OpenAI and Ollama translations need from the mesh; the web node and the proxy each provide one. */
export interface CompatUpstream {
  generate (apiKey: string, generation: GenerationInput, signal: AbortSignal): Promise<GenerationStream>
  models (): Promise<GatewayModels>
  embed (apiKey: string, model: string, input: string[], signal: AbortSignal): Promise<GatewayEmbedding>
  quota (apiKey: string): Promise<GatewayQuota>
}

/** How a host reaches a gateway: one unary call and one stream, with the method definitions of shared/schemas. */
export interface GatewayTransport {
  call<M extends UnaryMethodDef> (def: M, request: z.input<M['request']>, signal?: AbortSignal): Promise<z.output<M['response']>>
  stream<M extends StreamMethodDef> (def: M, request: z.input<M['request']>, signal: AbortSignal): Promise<AsyncIterable<z.output<M['chunk']>> & { result: Promise<z.output<M['response']>> }>
}

export type GenerationInput = Omit<z.input<typeof infer.request>, 'apiKey'>

/** The compat upstream over a gateway transport: every call carries the caller's key. */
export function gatewayUpstream (transport: GatewayTransport): CompatUpstream {
  return {
    async generate (apiKey, generation, signal) {
      return await transport.stream(infer, { ...generation, apiKey }, signal) as GenerationStream
    },
    models: () => transport.call(models, {}),
    embed: (apiKey, model, input, signal) => transport.call(embed, { apiKey, model, input }, signal),
    quota: apiKey => transport.call(quota, { apiKey })
  }
}
