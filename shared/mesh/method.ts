import type { z } from 'zod'
import type { NodeRole } from './topic.js'

/**
 * Who may call a method: `anyone` (users prove themselves with a key or session inside the request),
 * or only nodes the auth node approved for one of the listed roles.
 */
export type Callers = 'anyone' | readonly NodeRole[]

/**
 * One RPC method: its name and the zod schemas of request, response and (for streaming
 * methods) each chunk. Both the serving node and every caller import the same definition.
 */
export interface MethodDef<
  Req extends z.ZodType = z.ZodType,
  Res extends z.ZodType = z.ZodType,
  Chunk extends z.ZodType | undefined = z.ZodType | undefined
> {
  readonly name: string
  readonly request: Req
  readonly response: Res
  readonly chunk: Chunk
  /** Requests larger than this are refused before parsing. */
  readonly maxRequestBytes: number
  /** Default time a caller waits (for streams: the longest gap between two messages). */
  readonly timeoutMs: number
  /** Enforced by the serving node from the caller's public key (shared/mesh/access.ts). */
  readonly callers: Callers
}

export type UnaryMethodDef<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> = MethodDef<Req, Res, undefined>
export type StreamMethodDef<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType, Chunk extends z.ZodType = z.ZodType> = MethodDef<Req, Res, Chunk>

export const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
export const DEFAULT_TIMEOUT_MS = 10_000

interface DefineOptions { maxRequestBytes?: number, timeoutMs?: number, callers?: Callers }

export function defineMethod<Req extends z.ZodType, Res extends z.ZodType> (
  name: string, schemas: { request: Req, response: Res } & DefineOptions
): UnaryMethodDef<Req, Res> {
  return {
    name,
    request: schemas.request,
    response: schemas.response,
    chunk: undefined,
    maxRequestBytes: schemas.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    timeoutMs: schemas.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    callers: schemas.callers ?? 'anyone'
  }
}

export function defineStreamMethod<Req extends z.ZodType, Res extends z.ZodType, Chunk extends z.ZodType> (
  name: string, schemas: { request: Req, response: Res, chunk: Chunk } & DefineOptions
): StreamMethodDef<Req, Res, Chunk> {
  return {
    name,
    request: schemas.request,
    response: schemas.response,
    chunk: schemas.chunk,
    maxRequestBytes: schemas.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    timeoutMs: schemas.timeoutMs ?? 30_000,
    callers: schemas.callers ?? 'anyone'
  }
}
