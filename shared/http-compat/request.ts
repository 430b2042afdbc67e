import { randomUUID } from 'node:crypto'
import type { FastifyReply, FastifyRequest } from 'fastify'
import type { z } from 'zod'
import { HyperinferError, toHyperinferError } from '../errors.js'
import { generation } from '../schemas/generation.js'
import { unknownModel } from './errors.js'
import type { CompatUpstream, GatewayChunk, GatewayEmbedding, GenerationInput, GenerationStream } from './gateway-upstream.js'

/**
 * Which key a request runs with, from the key it presented (null when none): the web node
 * requires one; the proxy falls back to its own.
 */
export type KeyPolicy = (presented: string | null) => string

export interface CompatOptions {
  upstream: CompatUpstream
  keyPolicy: KeyPolicy
}

const keys = new WeakMap<FastifyRequest, string>()

/** `Authorization: Bearer <key>` (what the SDKs send) or `X-API-Key`. */
export function presentedKey (req: FastifyRequest): string | null {
  const auth = req.headers.authorization
  if (typeof auth === 'string' && auth !== '') {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(auth)
    if (!match) throw new HyperinferError('UNAUTHENTICATED', 'send the API key as "Authorization: Bearer hi_..."')
    return match[1]
  }
  const header = req.headers['x-api-key']
  if (typeof header === 'string' && header !== '') return header
  return null
}

/** The key this request runs with, remembered for its error answer (a 429 carries the key's limits). */
export function requestKey (req: FastifyRequest, policy: KeyPolicy): string {
  const key = policy(presentedKey(req))
  keys.set(req, key)
  return key
}

export function keyOfRequest (req: FastifyRequest): string | undefined {
  return keys.get(req)
}

export function newRequestId (): string {
  return `req_${randomUUID().replaceAll('-', '')}`
}

/** Parses with a zod schema; the first failing field becomes the error's `param` (as OpenAI reports it). */
export function parseBody<S extends z.ZodType> (schema: S, body: unknown, paramNames: Record<string, string> = {}): z.output<S> {
  const parsed = schema.safeParse(body ?? {})
  if (parsed.success) return parsed.data
  const issue = parsed.error.issues[0]
  const path = issue.path.map(String)
  const param = paramNames[path[0]] !== undefined ? [paramNames[path[0]], ...path.slice(1)].join('.') : path.join('.')
  const summary = parsed.error.issues.slice(0, 3).map(i => `${i.path.map(String).join('.') || 'body'}: ${i.message}`).join('; ')
  throw new HyperinferError('INVALID_ARGUMENT', `invalid request: ${summary}`, { details: { param: param || null, code: 'invalid_value' } })
}

/** The mesh's names for fields, back to the OpenAI names a client sent. */
const OPENAI_NAMES: Record<string, string> = { maxTokens: 'max_tokens', topP: 'top_p', toolChoice: 'tool_choice', responseFormat: 'response_format', toolCalls: 'tool_calls', toolCallId: 'tool_call_id' }

/** Checks a translated generation against the one contract before it leaves, naming the client's field. */
export function checkGeneration (input: GenerationInput): GenerationInput {
  parseBody(generation, input, OPENAI_NAMES)
  return input
}

/** An open generation: its first real chunk (null when it ended without one) and the rest. */
export interface StartedGeneration {
  first: GatewayChunk | null
  rest: AsyncIterator<GatewayChunk>
  stream: GenerationStream
}

/**
 * Starts a generation and waits for its first real chunk, so that a failure before any output
 * still gets its own HTTP status. A client that goes away cancels it (the gateway bills what was
 * produced). Queue notices are passed to `onQueued` (the SSE writers keep the connection warm).
 */
export async function startGeneration (upstream: CompatUpstream, apiKey: string, input: GenerationInput, reply: FastifyReply): Promise<StartedGeneration> {
  const abort = new AbortController()
  reply.raw.on('close', () => { if (!reply.raw.writableFinished) abort.abort() })
  try {
    const stream = await upstream.generate(apiKey, input, abort.signal)
    const rest = stream[Symbol.asyncIterator]()
    for (;;) {
      const step = await rest.next()
      if (step.done) {
        await stream.result
        return { first: null, rest, stream }
      }
      if (step.value.queued === undefined) return { first: step.value, rest, stream }
    }
  } catch (err) {
    throw await explain(upstream, err, input.model)
  }
}

/** MODEL_UNAVAILABLE for a model the mesh does not know at all is a 404 (unknown model); else it stays a 503. */
export async function explain (upstream: CompatUpstream, err: unknown, model: string): Promise<HyperinferError> {
  const coded = toHyperinferError(err)
  if (coded.code !== 'MODEL_UNAVAILABLE') return coded
  const listed = await upstream.models().then(list => list.models.some(m => m.name === model), () => true)
  return listed ? coded : unknownModel(model)
}

/** Embeddings for one HTTP request: cancelled when the client goes away, an unknown model a 404. */
export async function embedFor (upstream: CompatUpstream, req: FastifyRequest, apiKey: string, model: string, input: string | string[]): Promise<GatewayEmbedding> {
  const abort = new AbortController()
  req.raw.on('close', () => { if (!req.raw.complete) abort.abort() })
  return upstream.embed(apiKey, model, typeof input === 'string' ? [input] : input, abort.signal).catch(async err => { throw await explain(upstream, err, model) })
}

/** The rest of a started generation's real chunks (queue notices dropped). */
export async function * remaining (started: StartedGeneration): AsyncGenerator<GatewayChunk> {
  if (started.first) yield started.first
  for (let step = await started.rest.next(); !step.done; step = await started.rest.next()) {
    if (step.value.queued === undefined) yield step.value
  }
}

export const unixNow = (): number => Math.floor(Date.now() / 1000)
