import type RPC from '@hyperswarm/rpc'
import type { z } from 'zod'
import { HyperinferError, toHyperinferError, type ErrorCode } from '../errors.js'
import type { Logger } from '../log.js'
import type { PlatformMetrics } from '../metrics.js'
import { AccessControl, forbidden } from './access.js'
import type { MethodDef, StreamMethodDef, UnaryMethodDef } from './method.js'
import { ChunkBatcher } from './chunk-batcher.js'
import { decode, encode, STREAM_CANCEL_EVENT, STREAM_CHUNK_EVENT, type RequestEnvelope, type ResponseEnvelope } from './wire.js'

export interface CallContext {
  /** The caller's RPC public key. */
  readonly remotePublicKey: Buffer
  /** Aborted when the caller cancels the stream or its connection closes. */
  readonly signal: AbortSignal
  /** Names the model a request was for, for the duration histogram. */
  setModel (model: string): void
}

export type UnaryHandler<M extends UnaryMethodDef> =
  (request: z.output<M['request']>, ctx: CallContext) => z.input<M['response']> | Promise<z.input<M['response']>>

/**
 * A streaming handler yields chunks and returns the final response. After `ctx.signal` aborts,
 * it should return its final (partial) response instead of yielding again: the next yield ends it.
 */
export type StreamHandler<M extends StreamMethodDef> =
  (request: z.output<M['request']>, ctx: CallContext) => AsyncGenerator<z.input<NonNullable<M['chunk']>>, z.input<M['response']>, void>

export interface ServedMethod {
  readonly def: MethodDef
  readonly unary?: UnaryHandler<UnaryMethodDef>
  readonly stream?: StreamHandler<StreamMethodDef>
}

export function unary<M extends UnaryMethodDef> (def: M, handler: UnaryHandler<M>): ServedMethod {
  return { def, unary: handler as unknown as UnaryHandler<UnaryMethodDef> }
}

export function streaming<M extends StreamMethodDef> (def: M, handler: StreamHandler<M>): ServedMethod {
  return { def, stream: handler as unknown as StreamHandler<StreamMethodDef> }
}

export function invalidArgument (issues: z.core.$ZodIssue[]): HyperinferError {
  const fields = issues.map(issue => ({ path: issue.path.map(String).join('.') || '(root)', message: issue.message }))
  const summary = fields.map(f => `${f.path}: ${f.message}`).join('; ')
  return new HyperinferError('INVALID_ARGUMENT', `invalid request: ${summary}`, { details: { fields } })
}

type Channel = RPC.Channel

interface RpcServerOptions {
  service: string
  metrics: PlatformMetrics
  log: Logger
  /** Who may call what; an unmanaged one (the default) checks nothing. */
  access?: AccessControl
}

interface InFlight { controller: AbortController, def: MethodDef }

/** Served to anyone on every node, so it does not make a node public. */
const ALWAYS_SERVED = new Set(['health'])

/**
 * Serves a method table on a @hyperswarm/rpc server. Every request is size-checked, parsed and
 * validated; every outcome, thrown or returned, is answered with an envelope, so no handler can
 * crash the node (protomux-rpc rethrows TypeError & co. from handlers).
 */
export class RpcServer {
  private readonly streams = new Map<Channel, Map<number, InFlight>>()
  private readonly connectionSignals = new Map<Channel, AbortController>()
  private readonly opts: RpcServerOptions
  private readonly server: RPC.Server
  private readonly counters = new Map<string, { inc (): void }>()
  private readonly histograms = new Map<string, { observe (seconds: number): void }>()
  readonly access: AccessControl
  private readonly publicMethods = new Set<string>()

  constructor (server: RPC.Server, opts: RpcServerOptions) {
    this.server = server
    this.opts = opts
    this.access = opts.access ?? new AccessControl({ managed: false })
    this.access.on('change', () => { this.recheckInFlight() })
    server.on('connection', (channel: Channel) => {
      const controller = new AbortController()
      this.connectionSignals.set(channel, controller)
      channel.on('close', () => {
        controller.abort(new HyperinferError('CANCELLED', 'caller disconnected'))
        this.connectionSignals.delete(channel)
        for (const stream of this.streams.get(channel)?.values() ?? []) stream.controller.abort(new HyperinferError('CANCELLED', 'caller disconnected'))
        this.streams.delete(channel)
      })
    })
    server.respond(STREAM_CANCEL_EVENT, (value, channel) => { this.onCancel(value, channel) })
  }

  serve (methods: readonly ServedMethod[]): void {
    for (const method of methods) {
      const { def } = method
      if (def.callers === 'anyone' && !ALWAYS_SERVED.has(def.name)) this.publicMethods.add(def.name)
      if (method.stream) {
        const handler = method.stream
        this.server.respond(def.name, (value, channel) => this.handleStream(def, handler, value, channel))
      } else if (method.unary) {
        const handler = method.unary
        this.server.respond(def.name, (value, channel) => this.handleUnary(def, handler, value, channel))
      }
    }
  }

  private async handleUnary (def: MethodDef, handler: UnaryHandler<UnaryMethodDef>, value: Buffer, channel: Channel): Promise<Buffer> {
    const started = process.hrtime.bigint()
    let model = ''
    const ctx: CallContext = {
      remotePublicKey: channel.stream.remotePublicKey,
      signal: this.connectionSignal(channel),
      setModel (name) { model = name }
    }
    let reply: ResponseEnvelope
    try {
      this.access.check(def, ctx.remotePublicKey)
      const envelope = decode(value, def.maxRequestBytes) as RequestEnvelope | null
      const request = this.validate(def, envelope)
      reply = { ok: true, r: await handler(request, ctx) }
    } catch (err) {
      reply = this.failure(def, err)
    }
    return this.finish(def, reply, started, model)
  }

  private async handleStream (def: MethodDef, handler: StreamHandler<StreamMethodDef>, value: Buffer, channel: Channel): Promise<Buffer> {
    const started = process.hrtime.bigint()
    let model = ''
    const controller = new AbortController()
    let streamId: number | undefined
    let batcher: ChunkBatcher | null = null
    let reply: ResponseEnvelope
    try {
      this.access.check(def, channel.stream.remotePublicKey)
      const envelope = decode(value, def.maxRequestBytes) as RequestEnvelope | null
      streamId = envelope?.s
      if (typeof streamId !== 'number' || !Number.isSafeInteger(streamId)) {
        throw new HyperinferError('INVALID_ARGUMENT', `${def.name} is a streaming method: call it as a stream`)
      }
      const request = this.validate(def, envelope)
      const id = streamId
      batcher = new ChunkBatcher(id, chunks => { if (!channel.closed) channel.event(STREAM_CHUNK_EVENT, encode(chunks)) })
      this.trackStream(channel, streamId, { controller, def })
      const ctx: CallContext = { remotePublicKey: channel.stream.remotePublicKey, signal: controller.signal, setModel (name) { model = name } }
      const generator = handler(request, ctx)
      // A revoked caller is answered at once, whether or not the producer notices the abort.
      let wakeOnRevoke = (): void => {}
      controller.signal.addEventListener('abort', () => { if (isForbidden(controller.signal.reason)) wakeOnRevoke() }, { once: true })
      // One promise per step: racing every step against one long-lived promise would leave a
      // reaction on it per chunk until the stream ends.
      const nextStep = (): Promise<Awaited<ReturnType<typeof generator.next>> | 'revoked'> => new Promise((resolve, reject) => {
        wakeOnRevoke = () => { resolve('revoked') }
        generator.next().then(resolve, reject)
      })
      for (;;) {
        const step = isForbidden(controller.signal.reason) ? 'revoked' : await nextStep()
        if (step === 'revoked') {
          generator.return(undefined as never).catch(() => {})
          throw controller.signal.reason
        }
        if (step.done) {
          reply = { ok: true, r: step.value }
          break
        }
        if (controller.signal.aborted) {
          const ended = await generator.return(undefined as never)
          reply = ended.value === undefined
            ? { ok: false, e: new HyperinferError('CANCELLED', 'stream cancelled by the caller').toWire() }
            : { ok: true, r: ended.value }
          break
        }
        batcher.add(step.value)
      }
    } catch (err) {
      reply = this.failure(def, err)
    } finally {
      if (streamId !== undefined) this.untrackStream(channel, streamId, controller)
    }
    if (isForbidden(controller.signal.reason)) reply = this.failure(def, controller.signal.reason)
    const unsent = batcher?.take() ?? []
    if (unsent.length > 0) reply.cs = unsent
    return this.finish(def, reply, started, model)
  }

  private validate (def: MethodDef, envelope: RequestEnvelope | null): unknown {
    if (envelope === null || typeof envelope !== 'object' || !('b' in envelope)) {
      throw new HyperinferError('INVALID_ARGUMENT', 'request is not an envelope { b: body }')
    }
    const parsed = def.request.safeParse(envelope.b)
    if (!parsed.success) throw invalidArgument(parsed.error.issues)
    return parsed.data
  }

  private failure (def: MethodDef, err: unknown): ResponseEnvelope {
    const coded = toHyperinferError(err)
    if (coded.code === 'INTERNAL') this.opts.log.error({ err, method: def.name }, 'handler failed')
    return { ok: false, e: coded.toWire() }
  }

  private finish (def: MethodDef, reply: ResponseEnvelope, started: bigint, model: string): Buffer {
    let buf: Buffer
    try {
      buf = encode(reply)
    } catch (err) {
      reply = this.failure(def, err)
      buf = encode(reply)
    }
    const status: ErrorCode | 'OK' = reply.ok ? 'OK' : reply.e.code
    this.counter(def.name, status).inc()
    this.histogram(def.name, model).observe(Number(process.hrtime.bigint() - started) / 1e9)
    return buf
  }

  /** Label children are cached: resolving labels on every call costs more than the observation. */
  private counter (method: string, status: string): { inc (): void } {
    const key = method + '\0' + status
    let child = this.counters.get(key)
    if (!child) {
      child = this.opts.metrics.requests.labels({ service: this.opts.service, method, status })
      this.counters.set(key, child)
    }
    return child
  }

  private histogram (method: string, model: string): { observe (seconds: number): void } {
    const key = method + '\0' + model
    let child = this.histograms.get(key)
    if (!child) {
      child = this.opts.metrics.requestDuration.labels({ service: this.opts.service, method, model })
      this.histograms.set(key, child)
    }
    return child
  }

  private connectionSignal (channel: Channel): AbortSignal {
    return this.connectionSignals.get(channel)?.signal ?? AbortSignal.abort()
  }

  private trackStream (channel: Channel, id: number, stream: InFlight): void {
    let byId = this.streams.get(channel)
    if (!byId) this.streams.set(channel, byId = new Map())
    if (byId.has(id)) throw new HyperinferError('INVALID_ARGUMENT', `stream id ${id} is already in use on this connection`)
    byId.set(id, stream)
    if (channel.closed) stream.controller.abort(new HyperinferError('CANCELLED', 'caller disconnected'))
  }

  private untrackStream (channel: Channel, id: number, controller: AbortController): void {
    const byId = this.streams.get(channel)
    if (byId?.get(id)?.controller === controller) byId.delete(id)
    if (byId?.size === 0) this.streams.delete(channel)
  }

  /**
   * For the RPC firewall (true refuses the connection before any method runs): a node that serves
   * only internal methods takes no connection from a key that is not an approved node.
   */
  refusesConnection (remotePublicKey: Buffer): boolean {
    return this.publicMethods.size === 0 && !this.access.admits(remotePublicKey)
  }

  /** After an approval changes, streams of callers that lost their role end with FORBIDDEN. */
  private recheckInFlight (): void {
    for (const [channel, byId] of this.streams) {
      const caller = channel.stream.remotePublicKey
      for (const { controller, def } of byId.values()) {
        if (!controller.signal.aborted && !this.access.allows(def, caller)) {
          this.opts.log.warn({ method: def.name, caller: caller.toString('hex').slice(0, 12) }, 'caller lost its approval: ending its stream')
          controller.abort(forbidden(def, caller))
        }
      }
    }
  }

  private onCancel (value: Buffer, channel: Channel): void {
    try {
      const { s } = decode(value, 1024) as { s: number }
      this.streams.get(channel)?.get(s)?.controller.abort(new HyperinferError('CANCELLED', 'stream cancelled by the caller'))
    } catch (err) {
      this.opts.log.debug({ err }, 'ignored a malformed cancel event')
    }
  }
}

function isForbidden (reason: unknown): reason is HyperinferError {
  return reason instanceof HyperinferError && reason.code === 'FORBIDDEN'
}
