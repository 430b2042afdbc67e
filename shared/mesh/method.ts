import type { z } from 'zod'

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
}

export type UnaryMethodDef<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType> = MethodDef<Req, Res, undefined>
export type StreamMethodDef<Req extends z.ZodType = z.ZodType, Res extends z.ZodType = z.ZodType, Chunk extends z.ZodType = z.ZodType> = MethodDef<Req, Res, Chunk>

export const DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
export const DEFAULT_TIMEOUT_MS = 10_000

interface DefineOptions { maxRequestBytes?: number, timeoutMs?: number }

export function defineMethod<Req extends z.ZodType, Res extends z.ZodType> (
  name: string, schemas: { request: Req, response: Res } & DefineOptions
): UnaryMethodDef<Req, Res> {
  return {
    name,
    request: schemas.request,
    response: schemas.response,
    chunk: undefined,
    maxRequestBytes: schemas.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    timeoutMs: schemas.timeoutMs ?? DEFAULT_TIMEOUT_MS
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
    timeoutMs: schemas.timeoutMs ?? 30_000
  }
}
