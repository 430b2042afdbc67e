/** Every error that crosses a node boundary carries one of these codes. */
export const ERROR_CODES = [
  'INVALID_ARGUMENT',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'RATE_LIMITED',
  'QUOTA_EXCEEDED',
  'MODEL_UNAVAILABLE',
  'BUSY',
  'TIMEOUT',
  'UNAVAILABLE',
  'PAYLOAD_TOO_LARGE',
  'UNKNOWN_METHOD',
  'CANCELLED',
  'UPSTREAM_ERROR',
  'INTERNAL'
] as const

export type ErrorCode = (typeof ERROR_CODES)[number]

export interface WireError {
  code: ErrorCode
  message: string
  details?: unknown
  retryAfterMs?: number
}

export class HyperinferError extends Error {
  readonly code: ErrorCode
  readonly details?: unknown
  /** When the caller may retry (RATE_LIMITED, QUOTA_EXCEEDED, BUSY). */
  readonly retryAfterMs?: number

  constructor (code: ErrorCode, message: string, opts: { details?: unknown, retryAfterMs?: number, cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'HyperinferError'
    this.code = code
    if (opts.details !== undefined) this.details = opts.details
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = Math.max(0, Math.ceil(opts.retryAfterMs))
  }

  toWire (): WireError {
    const wire: WireError = { code: this.code, message: this.message }
    if (this.details !== undefined) wire.details = this.details
    if (this.retryAfterMs !== undefined) wire.retryAfterMs = this.retryAfterMs
    return wire
  }
}

export function isErrorCode (value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value)
}

/** Anything thrown becomes a coded error; unknown errors become INTERNAL without leaking internals. */
export function toHyperinferError (err: unknown): HyperinferError {
  if (err instanceof HyperinferError) return err
  return new HyperinferError('INTERNAL', 'internal error', { cause: err })
}

export function fromWire (wire: WireError): HyperinferError {
  const code = isErrorCode(wire.code) ? wire.code : 'INTERNAL'
  return new HyperinferError(code, String(wire.message ?? 'remote error'), {
    details: wire.details,
    retryAfterMs: typeof wire.retryAfterMs === 'number' ? wire.retryAfterMs : undefined
  })
}

export function hasCode (err: unknown, code: ErrorCode): boolean {
  return err instanceof HyperinferError && err.code === code
}
