import type { ErrorCode } from './errors.js'

/** The HTTP status for each error code the mesh uses. */
export const HTTP_STATUS: Record<ErrorCode, number> = {
  INVALID_ARGUMENT: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  CANCELLED: 499,
  INTERNAL: 500,
  UNKNOWN_METHOD: 501,
  UPSTREAM_ERROR: 502,
  UNAVAILABLE: 503,
  MODEL_UNAVAILABLE: 503,
  BUSY: 503,
  TIMEOUT: 504
}
