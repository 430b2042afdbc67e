import type { FastifyReply } from 'fastify'
import type { z } from 'zod'
import { HyperinferError, type ErrorCode } from '../../shared/errors.js'
import { HTTP_STATUS } from '../../shared/http-status.js'

const RETRY_CODES = new Set<ErrorCode>(['RATE_LIMITED', 'QUOTA_EXCEEDED', 'BUSY'])

/** Parses a body, query or params with a zod schema; issues become one INVALID_ARGUMENT. */
export function validate<S extends z.ZodType> (schema: S, value: unknown, where = 'body'): z.output<S> {
  const parsed = schema.safeParse(value ?? {})
  if (parsed.success) return parsed.data
  const problems = parsed.error.issues.map(issue => ({ path: issue.path.map(String).join('.'), message: issue.message }))
  const summary = problems.map(p => p.path ? `${p.path}: ${p.message}` : p.message).join('; ')
  throw new HyperinferError('INVALID_ARGUMENT', `invalid ${where}: ${summary}`, { details: { problems } })
}

/** The JSON body `{ error: { code, message, details? } }` of an error. */
export function errorBody (err: HyperinferError): { error: { code: ErrorCode, message: string, details?: unknown, retryAfterMs?: number } } {
  return { error: err.toWire() }
}

export function sendError (reply: FastifyReply, err: HyperinferError): FastifyReply {
  const status = HTTP_STATUS[err.code] ?? 500
  if (RETRY_CODES.has(err.code)) reply.header('retry-after', String(Math.max(1, Math.ceil((err.retryAfterMs ?? 1000) / 1000))))
  return reply.code(status).type('application/json; charset=utf-8').send(errorBody(err))
}

/** Errors fastify raises itself (bad JSON, body too large, wrong content type) as coded errors. */
export function fromFastifyError (err: { statusCode?: number, code?: string, message: string }): HyperinferError {
  const status = err.statusCode ?? 500
  if (status === 413) return new HyperinferError('PAYLOAD_TOO_LARGE', 'request body is too large')
  if (status === 415) return new HyperinferError('INVALID_ARGUMENT', 'send the body as application/json')
  if (status >= 400 && status < 500) return new HyperinferError('INVALID_ARGUMENT', err.message)
  return new HyperinferError('INTERNAL', 'internal error')
}
