import { HyperinferError } from '../../shared/errors.js'
import type { Logger } from '../../shared/log.js'
import type { PlatformMetrics } from '../../shared/metrics.js'
import type { ModelInfo, RunRequest, RunResponse, Usage } from '../../shared/schemas/inference.js'
import { wantsStructuredOutput } from '../../shared/schemas/generation.js'
import type { Backend, GenerateResult } from './backends/types.js'
import { ResponseCache, type CachedAnswer, type ResponseCacheOptions } from './cache.js'
import type { BackendCapacity, WorkerCapacity } from '../../shared/schemas/capacity.js'
import { CapacityBoard } from './capacity.js'
import { GenerationLimiter } from './generation-limiter.js'

export interface BackendSlot {
  backend: Backend
  /** Prefix the mesh sees before each upstream model name. */
  prefix: string
  concurrency: number
  queueSize: number
  /** Default and upper bound of maxTokens. */
  maxTokens: number
}

export interface WorkerOptions {
  backends: BackendSlot[]
  cache: ResponseCacheOptions & { enabled: boolean }
  metrics: PlatformMetrics
  log: Logger
  /** How long the model catalog is reused before backends are asked again. */
  catalogTtlMs?: number
}

interface Served { slot: BackendSlot & { limiter: GenerationLimiter }, upstream: string, info: ModelInfo }

/**
 * The worker's core: routes a mesh model name to its backend, bounds concurrency per backend,
 * answers deterministic repeats from the cache, and keeps the metrics.
 */
export class InferenceWorker {
  private readonly opts: WorkerOptions
  private readonly slots: (BackendSlot & { limiter: GenerationLimiter })[]
  private readonly cache: ResponseCache | null
  private catalog = new Map<string, Served>()
  private catalogAt = 0
  private refreshing: Promise<void> | null = null
  /** Free slots and queue per backend, pushed to gateways on every change. */
  readonly capacity = new CapacityBoard(() => this.capacitySnapshot())

  constructor (opts: WorkerOptions) {
    this.opts = opts
    this.slots = opts.backends.map(slot => ({ ...slot, limiter: new GenerationLimiter(slot.concurrency, slot.queueSize, () => { this.capacity.changed() }) }))
    this.cache = opts.cache.enabled ? new ResponseCache(opts.cache) : null
  }

  async start (): Promise<void> {
    for (const { backend } of this.slots) await backend.start()
    await this.refresh()
  }

  async close (): Promise<void> {
    this.capacity.close()
    await Promise.allSettled(this.slots.map(({ backend }) => backend.close()))
  }

  /** The model names last seen (for health details; no upstream call). */
  get modelNames (): string[] {
    return [...this.catalog.keys()]
  }

  /** Long poll for the capacity (see inference.capacity). */
  waitForCapacity (since: number, waitMs: number, signal: AbortSignal): Promise<WorkerCapacity> {
    return this.capacity.wait(since, waitMs, signal)
  }

  private capacitySnapshot (): BackendCapacity[] {
    const models = new Map<string, string[]>()
    for (const [name, served] of this.catalog) {
      const list = models.get(served.slot.backend.name) ?? []
      list.push(name)
      models.set(served.slot.backend.name, list)
    }
    return this.slots.map(({ backend, limiter }) => ({
      backend: backend.name,
      models: models.get(backend.name) ?? [],
      concurrency: limiter.concurrency,
      running: limiter.running,
      queued: limiter.queued,
      queueSize: limiter.queueSize
    }))
  }

  async models (): Promise<ModelInfo[]> {
    await this.refreshIfStale()
    return [...this.catalog.values()].map(s => s.info)
  }

  async modelStatus (model: string): Promise<ModelInfo & { running: number, queued: number, concurrency: number, queueSize: number }> {
    await this.refreshIfStale()
    const served = this.catalog.get(model) ?? (await this.refresh(), this.catalog.get(model))
    if (!served) throw this.unknownModel(model)
    const { limiter } = served.slot
    return { ...served.info, running: limiter.running, queued: limiter.queued, concurrency: limiter.concurrency, queueSize: limiter.queueSize }
  }

  async * run (request: RunRequest, signal: AbortSignal, setModel: (model: string) => void): AsyncGenerator<{ text: string }, RunResponse, void> {
    const served = await this.resolve(request.model, signal)
    setModel(request.model)
    const { slot } = served
    const backend = slot.backend
    const model = request.model
    const maxTokens = Math.min(request.maxTokens ?? slot.maxTokens, slot.maxTokens)
    const started = performance.now()
    const base = { model, backend: backend.name }

    const cacheKey = this.cache && ResponseCache.cacheable(request) && !wantsStructuredOutput(request) ? ResponseCache.key(backend.name, request, maxTokens) : null
    if (cacheKey !== null) {
      const hit = this.cache?.get(cacheKey)
      if (hit) {
        this.opts.metrics.cacheHits.inc()
        return yield * replay(hit, base, started, signal)
      }
      this.opts.metrics.cacheMisses.inc()
    }

    const depth = this.opts.metrics.queueDepth.labels({ model })
    depth.inc()
    let release: (() => void) | null = null
    try {
      try {
        release = await slot.limiter.acquire(signal, `backend ${backend.name}`)
      } catch (err) {
        if (signal.aborted) return { ...base, usage: usageOf(0, 0), finishReason: 'cancelled', timeToFirstTokenMs: null, cached: false }
        throw err
      }
      const generation = backend.generate({ ...request, model: served.upstream, maxTokens }, signal)
      const chunks: string[] = []
      let ttft: number | null = null
      let result: GenerateResult
      try {
        for (;;) {
          const step = await generation.next()
          if (step.done === true) {
            result = step.value
            break
          }
          if (ttft === null) {
            ttft = performance.now() - started
            this.opts.metrics.timeToFirstToken.labels({ model }).observe(ttft / 1000)
          }
          chunks.push(step.value.text)
          // after an abort the caller wants the final response, not more chunks
          if (!signal.aborted) yield step.value
        }
      } finally {
        await generation.return(undefined as never).catch(() => {})
      }
      const usage = this.record(model, result, cacheKey, chunks)
      return { ...base, usage, finishReason: result.finishReason, ...(result.toolCalls ? { toolCalls: result.toolCalls } : {}), timeToFirstTokenMs: ttft, cached: false }
    } finally {
      release?.()
      depth.dec()
    }
  }

  /** Counts a finished generation's tokens and caches its answer when it may be replayed. */
  private record (model: string, result: GenerateResult, cacheKey: string | null, chunks: string[]): Usage {
    this.opts.metrics.tokens.labels({ model, kind: 'prompt' }).inc(result.promptTokens)
    this.opts.metrics.tokens.labels({ model, kind: 'completion' }).inc(result.completionTokens)
    const usage = usageOf(result.promptTokens, result.completionTokens, result.cachedPromptTokens)
    if (cacheKey !== null && result.finishReason !== 'cancelled') this.cache?.set(cacheKey, { chunks, usage, finishReason: result.finishReason })
    return usage
  }

  async embed (model: string, input: string[], signal: AbortSignal): Promise<{ model: string, backend: string, embeddings: number[][], usage: { promptTokens: number, totalTokens: number } }> {
    const served = await this.resolve(model, signal)
    const { backend, limiter } = served.slot
    if (!backend.embed) throw new HyperinferError('INVALID_ARGUMENT', `backend ${backend.name} (${backend.type}) does not serve embeddings`)
    const release = await limiter.acquire(signal, `backend ${backend.name}`)
    try {
      const res = await backend.embed(served.upstream, input, signal)
      this.opts.metrics.tokens.labels({ model, kind: 'prompt' }).inc(res.promptTokens)
      return { model, backend: backend.name, embeddings: res.embeddings, usage: { promptTokens: res.promptTokens, totalTokens: res.promptTokens } }
    } finally {
      release()
    }
  }

  /**
   * A generation or embedding is served from the catalog it finds; a stale one is refreshed beside it,
   * so none waits for an upstream's model list. Only a model the catalog lacks waits for a fresh one
   * (model listings, inference.models, still wait for theirs).
   */
  private async resolve (model: string, signal: AbortSignal): Promise<Served> {
    if (this.isStale()) this.refresh().catch(() => {})
    let served = this.catalog.get(model)
    if (!served) {
      await untilAborted(this.refresh(), signal, 'cancelled while the worker listed its models')
      served = this.catalog.get(model)
    }
    if (!served) throw this.unknownModel(model)
    return served
  }

  private unknownModel (model: string): HyperinferError {
    return new HyperinferError('MODEL_UNAVAILABLE', `this worker does not serve model "${model}" (it serves: ${this.modelNames.join(', ') || 'nothing'})`,
      { details: { model, backends: this.slots.map(s => s.backend.name) } })
  }

  private async refreshIfStale (): Promise<void> {
    if (this.isStale()) await this.refresh()
  }

  private isStale (): boolean {
    return performance.now() - this.catalogAt > (this.opts.catalogTtlMs ?? 10_000)
  }

  private refresh (): Promise<void> {
    this.refreshing ??= this.buildCatalog().finally(() => { this.refreshing = null })
    return this.refreshing
  }

  /** A backend that does not answer keeps its previous entries: one failed listing must not take its models off the mesh. */
  private async buildCatalog (): Promise<void> {
    const listed = await Promise.all(this.slots.map(async slot => ({ slot, models: await slot.backend.listModels().catch(() => null) })))
    const catalog = new Map<string, Served>()
    for (const { slot, models } of listed) {
      if (models === null) {
        for (const [name, served] of this.catalog) if (served.slot === slot && !catalog.has(name)) catalog.set(name, served)
        continue
      }
      for (const m of models) {
        const name = slot.prefix + m.name
        if (catalog.has(name)) {
          this.opts.log.warn({ model: name, backend: slot.backend.name }, 'model name served by an earlier backend: ignored here')
          continue
        }
        catalog.set(name, { slot, upstream: m.name, info: { ...m, name, backend: slot.backend.name, backendType: slot.backend.type } })
      }
    }
    const modelsChanged = [...catalog.keys()].join('\n') !== [...this.catalog.keys()].join('\n')
    this.catalog = catalog
    this.catalogAt = performance.now()
    if (modelsChanged) this.capacity.changed()
  }
}

/** The promise, or CANCELLED as soon as the caller gives up (the work it waited for goes on for others). */
async function untilAborted<T> (promise: Promise<T>, signal: AbortSignal, message: string): Promise<T> {
  if (signal.aborted) throw new HyperinferError('CANCELLED', message)
  let onAbort = (): void => {}
  const aborted = new Promise<never>((resolve, reject) => {
    onAbort = () => { reject(new HyperinferError('CANCELLED', message)) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

function usageOf (promptTokens: number, completionTokens: number, cachedPromptTokens = 0): Usage {
  const usage: Usage = { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens }
  if (cachedPromptTokens > 0) usage.cachedPromptTokens = cachedPromptTokens
  return usage
}

/** A cached answer, streamed again as it first came. */
function * replay (hit: CachedAnswer, base: { model: string, backend: string }, started: number, signal: AbortSignal): Generator<{ text: string }, RunResponse, void> {
  let ttft: number | null = null
  for (const text of hit.chunks) {
    if (signal.aborted) return { ...base, usage: hit.usage, finishReason: 'cancelled', timeToFirstTokenMs: ttft, cached: true }
    ttft ??= performance.now() - started
    yield { text }
  }
  return { ...base, usage: hit.usage, finishReason: hit.finishReason, timeToFirstTokenMs: ttft ?? performance.now() - started, cached: true }
}
