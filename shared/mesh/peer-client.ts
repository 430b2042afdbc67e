import type RPC from '@hyperswarm/rpc'
import type { z } from 'zod'
import { fromWire, HyperinferError } from '../errors.js'
import { health } from '../schemas/mesh.js'
import type { StreamMethodDef, UnaryMethodDef } from './method.js'
import { RpcStream } from './rpc-stream.js'
import { encode, GOODBYE_EVENT, STREAM_CANCEL_EVENT, STREAM_CHUNK_EVENT, type ChunkEnvelope, type ResponseEnvelope } from './wire.js'

export interface CallOptions { timeoutMs?: number, signal?: AbortSignal }
export interface StreamOptions {
  signal?: AbortSignal
  /** Longest wait for the next chunk or the final response. */
  idleTimeoutMs?: number
  /** Longest wait for the first chunk (default: idleTimeoutMs). */
  firstChunkTimeoutMs?: number
  /** How long the final response may take after an abort (it carries the usage of what was produced). */
  drainTimeoutMs?: number
}

/** What the owner of a client hears about the peer's connection (discovery follows it). */
export interface PeerClientHooks {
  /** The peer is shutting down on purpose. */
  onGoodbye? (publicKey: Buffer): void
  /** An open connection to the peer closed without a goodbye. */
  onClose? (publicKey: Buffer): void
}

/** How long an unfinished stream may run in all; bounds protomux's own bookkeeping. */
const MAX_STREAM_MS = 30 * 60_000

/**
 * A typed RPC client for one peer over one explicit connection (not the pooled request, which
 * tears connections down mid-stream). Reconnects on the next call after a drop.
 */
export class PeerClient {
  readonly publicKey: Buffer
  private readonly rpc: RPC
  private client: RPC.Client | null = null
  private opened = false
  private readonly streams = new Map<number, RpcStream<unknown, unknown>>()
  private nextStreamId = 1
  private closed = false
  private readonly hooks: PeerClientHooks
  /** When the peer last answered a call or sent a stream message (ms since epoch). */
  lastAnswerAt = 0

  constructor (rpc: RPC, publicKey: Buffer, hooks: PeerClientHooks = {}) {
    this.rpc = rpc
    this.publicKey = publicKey
    this.hooks = hooks
  }

  /** Streams still waiting for their final response. */
  get openStreams (): number {
    return this.streams.size
  }

  get connected (): boolean {
    return this.client !== null && !this.client.closed
  }

  async call<M extends UnaryMethodDef> (def: M, request: z.input<M['request']>, opts: CallOptions = {}): Promise<z.output<M['response']>> {
    opts.signal?.throwIfAborted()
    const timeoutMs = opts.timeoutMs ?? def.timeoutMs
    const client = this.connection()
    let raw: Buffer
    try {
      const pending = client.request(def.name, encode({ b: request }), { timeout: timeoutMs })
      raw = opts.signal ? await raceAbort(pending, opts.signal) : await pending
    } catch (err) {
      this.dropIfNeverOpened(client)
      throw this.transportError(err, def.name, timeoutMs)
    }
    this.lastAnswerAt = Date.now()
    return parseResponse(def, raw)
  }

  stream<M extends StreamMethodDef> (def: M, request: z.input<M['request']>, opts: StreamOptions = {}): RpcStream<z.output<M['chunk']>, z.output<M['response']>> {
    const id = this.nextStreamId++
    const idleTimeoutMs = opts.idleTimeoutMs ?? def.timeoutMs
    const stream = new RpcStream<z.output<M['chunk']>, z.output<M['response']>>({
      chunkSchema: def.chunk,
      idleTimeoutMs,
      firstMessageTimeoutMs: opts.firstChunkTimeoutMs ?? idleTimeoutMs,
      drainTimeoutMs: opts.drainTimeoutMs ?? 5_000,
      onCancel: () => { this.sendCancel(id) },
      onSettled: () => { this.streams.delete(id) }
    })
    this.streams.set(id, stream as RpcStream<unknown, unknown>)
    try {
      const client = this.connection()
      client.request(def.name, encode({ b: request, s: id }), { timeout: MAX_STREAM_MS }).then(
        raw => {
          this.lastAnswerAt = Date.now()
          try {
            const reply = parseEnvelope(def, raw)
            if (Array.isArray(reply.cs)) for (const chunk of reply.cs) stream.push(chunk)
            stream.finish(validResponse(def, reply))
          } catch (err) {
            stream.fail(err as Error)
          }
        },
        err => { stream.fail(this.transportError(err, def.name, MAX_STREAM_MS)) }
      )
    } catch (err) {
      stream.fail(this.transportError(err, def.name, idleTimeoutMs))
    }
    if (opts.signal) stream.abortOn(opts.signal)
    return stream
  }

  /** Drop the connection (a peer that stopped answering); the next call connects anew. */
  reset (): void {
    const client = this.client
    this.client = null
    client?.destroy()
  }

  close (): void {
    this.closed = true
    this.client?.destroy()
    this.client = null
  }

  private connection (): RPC.Client {
    if (this.closed) throw new HyperinferError('UNAVAILABLE', 'client closed')
    if (this.client && !this.client.closed) return this.client
    this.client?.destroy()
    // Dial as this node's identity, so the callee can tell who calls (the DHT's own key pair is anonymous).
    const client = this.rpc.connect(this.publicKey, { keyPair: this.rpc.defaultKeyPair })
    this.client = client
    this.opened = false
    let wasOpen = false
    let saidGoodbye = false
    client.on('open', () => {
      wasOpen = true
      if (this.client === client) this.opened = true
    })
    client.rpc?.respond(STREAM_CHUNK_EVENT, value => { this.onChunk(value) })
    client.rpc?.respond(GOODBYE_EVENT, () => {
      saidGoodbye = true
      this.hooks.onGoodbye?.(this.publicKey)
    })
    client.on('close', () => {
      if (this.client === client) this.client = null
      if (wasOpen && !saidGoodbye && !this.closed) this.hooks.onClose?.(this.publicKey)
    })
    return client
  }

  /**
   * A connection attempt can stall (a holepunch round that never completes) for longer than a
   * call's timeout; without this every later call would wait on the same attempt.
   */
  private dropIfNeverOpened (client: RPC.Client): void {
    if (this.client !== client || this.opened) return
    this.client = null
    client.destroy()
  }

  private onChunk (value: Buffer): void {
    let envelope: ChunkEnvelope
    try {
      envelope = JSON.parse(value.toString('utf8')) as ChunkEnvelope
    } catch {
      return
    }
    // A streaming peer is alive: discovery need not probe it, and a slow probe must not cut its streams.
    this.lastAnswerAt = Date.now()
    const stream = this.streams.get(envelope.s)
    if (!stream) return
    if (Array.isArray(envelope.cs)) for (const chunk of envelope.cs) stream.push(chunk)
    else stream.push(envelope.c)
  }

  private sendCancel (id: number): void {
    try {
      if (this.client && !this.client.closed) this.client.event(STREAM_CANCEL_EVENT, encode({ s: id }))
    } catch { /* the connection is gone: the server aborts on close anyway */ }
  }

  private transportError (err: unknown, method: string, timeoutMs: number): HyperinferError {
    if (err instanceof HyperinferError) return err
    const peer = this.publicKey.toString('hex').slice(0, 12)
    const code = (err as { code?: string } | null)?.code
    if (code === 'TIMEOUT_EXCEEDED') return new HyperinferError('TIMEOUT', `${method}: no answer from peer ${peer} within ${timeoutMs} ms`)
    if (code === 'UNKNOWN_METHOD') return new HyperinferError('UNKNOWN_METHOD', `${method}: peer ${peer} does not serve this method`)
    if (code === 'ABORT_ERR' || (err as Error)?.name === 'AbortError') return new HyperinferError('CANCELLED', `${method}: cancelled`)
    const cause = (err as { cause?: { code?: unknown, message?: unknown } } | null)?.cause
    if (code === 'REQUEST_ERROR' && cause && typeof cause.code === 'string') {
      return fromWire({ code: cause.code as never, message: String(cause.message) })
    }
    return new HyperinferError('UNAVAILABLE', `${method}: peer ${peer} is unreachable (${(err as Error)?.message ?? String(err)})`, { cause: err })
  }
}

function parseResponse<M extends UnaryMethodDef | StreamMethodDef> (def: M, raw: Buffer): z.output<M['response']> {
  return validResponse(def, parseEnvelope(def, raw))
}

function parseEnvelope (def: UnaryMethodDef | StreamMethodDef, raw: Buffer): ResponseEnvelope {
  try {
    return JSON.parse(raw.toString('utf8')) as ResponseEnvelope
  } catch {
    throw new HyperinferError('INTERNAL', `${def.name}: peer sent a response that is not JSON`)
  }
}

function validResponse<M extends UnaryMethodDef | StreamMethodDef> (def: M, reply: ResponseEnvelope): z.output<M['response']> {
  if (!reply.ok) throw fromWire(reply.e)
  const parsed = def.response.safeParse(reply.r)
  if (!parsed.success) {
    throw new HyperinferError('INTERNAL', `${def.name}: peer sent an invalid response: ${parsed.error.issues[0]?.message ?? 'unknown'}`)
  }
  return parsed.data as z.output<M['response']>
}

function raceAbort<T> (pending: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(new HyperinferError('CANCELLED', 'call cancelled')) }
    signal.addEventListener('abort', onAbort, { once: true })
    pending.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}

/**
 * The liveness probe of discovery. A killed peer sends nothing, so its connection can look
 * open forever: when the probe fails, the connection is dropped and the next probe dials anew
 * (which is how a restarted peer with the same key is found again).
 */
export async function probeHealth (client: PeerClient, opts: { timeoutMs?: number } = {}): Promise<z.output<typeof health.response>> {
  const sent = Date.now()
  try {
    return await client.call(health, {}, { timeoutMs: opts.timeoutMs })
  } catch (err) {
    // A peer that kept streaming while the probe waited, or one with streams still open, may be
    // busy rather than gone (or this process was too busy to read its answer in time): dropping
    // the connection would end every stream on it (1,000 streams at once died this way). Open
    // streams end on their own idle timeouts if the peer is gone; a later probe then redials.
    if (client.lastAnswerAt < sent && client.openStreams === 0) client.reset()
    throw err
  }
}
