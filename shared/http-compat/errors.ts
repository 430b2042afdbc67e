import type { FastifyReply } from 'fastify'
import { HyperinferError, type ErrorCode } from '../errors.js'
import { HTTP_STATUS } from '../http-status.js'
import type { GatewayQuota } from './gateway-upstream.js'

/** OpenAI's error body: the SDKs read `error.message`, `type`, `param` and `code`. */
export interface OpenAIErrorBody { error: { message: string, type: string, param: string | null, code: string | null } }

const TYPE: Partial<Record<ErrorCode, [type: string, code: string | null]>> = {
  UNAUTHENTICATED: ['invalid_request_error', 'invalid_api_key'],
  FORBIDDEN: ['permission_error', 'forbidden'],
  NOT_FOUND: ['invalid_request_error', 'not_found'],
  PAYLOAD_TOO_LARGE: ['invalid_request_error', 'request_too_large'],
  RATE_LIMITED: ['requests', 'rate_limit_exceeded'],
  QUOTA_EXCEEDED: ['tokens', 'insufficient_quota'],
  MODEL_UNAVAILABLE: ['server_error', 'no_worker'],
  BUSY: ['server_error', 'overloaded'],
  UNAVAILABLE: ['server_error', 'unavailable'],
  TIMEOUT: ['server_error', 'timeout'],
  UPSTREAM_ERROR: ['server_error', 'upstream_error'],
  INTERNAL: ['server_error', null]
}

/** The SDKs retry 429 and 5xx honouring retry-after only up to a minute; past that, tell them not to. */
const LONGEST_SDK_RETRY_MS = 60_000

/** An unknown model: what the SDKs raise NotFoundError for. */
export function unknownModel (model: string): HyperinferError {
  return new HyperinferError('NOT_FOUND', `The model \`${model}\` does not exist or no worker serves it; GET /v1/models lists the models the mesh serves`,
    { details: { param: 'model', code: 'model_not_found' } })
}

export function httpStatus (err: HyperinferError): number {
  return HTTP_STATUS[err.code] ?? 500
}

export function openAIErrorBody (err: HyperinferError): OpenAIErrorBody {
  const details = (err.details ?? {}) as { param?: unknown, code?: unknown }
  const [type, code] = TYPE[err.code] ?? ['invalid_request_error', null]
  return {
    error: {
      message: err.message,
      type,
      param: typeof details.param === 'string' ? details.param : null,
      code: typeof details.code === 'string' ? details.code : code
    }
  }
}

/** retry-after, x-should-retry and (with the caller's quota, on a 429) the x-ratelimit-* headers. */
export function errorHeaders (err: HyperinferError, quota: GatewayQuota | null): Record<string, string> {
  const headers: Record<string, string> = {}
  if (err.retryAfterMs !== undefined) {
    headers['retry-after'] = String(Math.max(1, Math.ceil(err.retryAfterMs / 1000)))
    headers['retry-after-ms'] = String(err.retryAfterMs)
    if (err.retryAfterMs > LONGEST_SDK_RETRY_MS) headers['x-should-retry'] = 'false'
  }
  if (quota) Object.assign(headers, rateLimitHeaders(quota))
  return headers
}

export function rateLimitHeaders (quota: GatewayQuota, now = Date.now()): Record<string, string> {
  const inSeconds = (iso: string | null): string => `${iso === null ? 0 : Math.max(0, Math.ceil((Date.parse(iso) - now) / 1000))}s`
  return {
    'x-ratelimit-limit-requests': String(quota.requests.limit),
    'x-ratelimit-remaining-requests': String(quota.requests.remaining),
    'x-ratelimit-reset-requests': inSeconds(quota.requests.resetAt),
    'x-ratelimit-limit-tokens': String(quota.tokens.limit),
    'x-ratelimit-remaining-tokens': String(quota.tokens.remaining),
    'x-ratelimit-reset-tokens': inSeconds(quota.tokens.resetAt)
  }
}

export function sendOpenAIError (reply: FastifyReply, err: HyperinferError, quota: GatewayQuota | null = null): FastifyReply {
  return reply.code(httpStatus(err)).headers(errorHeaders(err, quota)).type('application/json').send(openAIErrorBody(err))
}

/** Ollama's error body is `{ error: message }`; its client raises ResponseError with the status. */
export function sendOllamaError (reply: FastifyReply, err: HyperinferError): FastifyReply {
  return reply.code(httpStatus(err)).headers(errorHeaders(err, null)).type('application/json').send({ error: err.message })
}

/** Fastify's own errors (bad JSON, body too large) as coded errors. */
export function fromFastifyError (err: { statusCode?: number, message: string }): HyperinferError {
  const status = err.statusCode ?? 500
  if (status === 413) return new HyperinferError('PAYLOAD_TOO_LARGE', 'request body is too large')
  if (status === 415) return new HyperinferError('INVALID_ARGUMENT', 'send the body as application/json')
  if (status >= 400 && status < 500) return new HyperinferError('INVALID_ARGUMENT', err.message)
  return new HyperinferError('INTERNAL', 'internal error')
}
