import { fromWire, HyperinferError, type WireError } from '../shared/errors.js'
import type { InferResult } from '../shared/schemas/gateway.js'

export interface AIInferenceClientOptions {
  apiKey: string
  /** The web node, e.g. http://127.0.0.1:3000 */
  baseUrl: string
  /** Per request (default 120 s). */
  timeoutMs?: number
}

export interface InferenceRequest {
  model: string
  prompt: string
  maxTokens?: number
  temperature?: number
  topP?: number
  stop?: string[]
  seed?: number
}

/**
 * The seed spec's SDK shape over HTTP: `new AIInferenceClient({ apiKey, baseUrl }).inference({ prompt,
 * model, maxTokens })` against the web node's POST /api/inference. Same result and coded errors as
 * HyperinferClient, without a mesh client of its own.
 */
export class AIInferenceClient {
  private readonly opts: AIInferenceClientOptions

  constructor (opts: AIInferenceClientOptions) {
    this.opts = opts
  }

  async inference (request: InferenceRequest): Promise<InferResult> {
    let res: Response
    try {
      res = await fetch(new URL('/api/inference', this.opts.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': this.opts.apiKey },
        body: JSON.stringify(request),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? 120_000)
      })
    } catch (err) {
      const timedOut = (err as Error).name === 'TimeoutError'
      throw new HyperinferError(timedOut ? 'TIMEOUT' : 'UNAVAILABLE', `${timedOut ? 'no answer' : 'cannot reach'} ${this.opts.baseUrl}: ${(err as Error).message}`, { cause: err })
    }
    const body = await res.json().catch(() => null) as { error?: WireError } | InferResult | null
    if (res.ok && body !== null && !('error' in body)) return body as InferResult
    const wire = (body as { error?: WireError } | null)?.error
    throw wire ? fromWire(wire) : new HyperinferError('UPSTREAM_ERROR', `${this.opts.baseUrl} answered HTTP ${res.status}`)
  }
}
