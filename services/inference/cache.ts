import { createHash } from 'node:crypto'
import { LRUCache } from 'lru-cache'
import type { FinishReason, RunRequest, Usage } from '../../shared/schemas/inference.js'

export interface CachedAnswer {
  chunks: string[]
  usage: Usage
  finishReason: FinishReason
}

export interface ResponseCacheOptions { maxEntries: number, maxBytes: number, ttlMs: number }

/** Exact-match answers to deterministic requests (temperature 0 or a fixed seed), bounded in count, bytes and age. */
export class ResponseCache {
  private readonly lru: LRUCache<string, CachedAnswer>

  constructor (opts: ResponseCacheOptions) {
    this.lru = new LRUCache<string, CachedAnswer>({
      max: opts.maxEntries,
      maxSize: opts.maxBytes,
      sizeCalculation: answer => 256 + answer.chunks.reduce((n, c) => n + 2 * c.length + 16, 0),
      ttl: opts.ttlMs
    })
  }

  static cacheable (request: RunRequest): boolean {
    return request.temperature === 0 || request.seed !== undefined
  }

  /** Model and sampling parameters in clear, the input (prompt or messages) as a SHA-256. */
  static key (backend: string, request: RunRequest, maxTokens: number): string {
    const input = createHash('sha256').update(JSON.stringify(request.prompt !== undefined ? { p: request.prompt } : { m: request.messages })).digest('hex')
    const params = JSON.stringify([maxTokens, request.temperature ?? null, request.topP ?? null, request.stop ?? null, request.seed ?? null])
    return `${backend}\0${request.model}\0${params}\0${input}`
  }

  get (key: string): CachedAnswer | undefined { return this.lru.get(key) }
  set (key: string, answer: CachedAnswer): void { this.lru.set(key, answer) }
  get size (): number { return this.lru.size }
}
