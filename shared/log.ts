import pino, { type Logger } from 'pino'

export type { Logger }

/** Quiet under tests (tap sets TAP=1) unless LOG_LEVEL says otherwise. */
export function createLogger (name: string, level?: string): Logger {
  const resolved = level ?? process.env.LOG_LEVEL ?? (process.env.TAP === '1' || process.env.NODE_ENV === 'test' ? 'silent' : 'info')
  return pino({
    name,
    level: resolved,
    redact: { paths: ['password', '*.password', 'apiKey', '*.apiKey', 'token', '*.token', 'secret', '*.secret'], censor: '[redacted]' }
  }, pino.destination({ dest: 2, sync: true })) // stdout is for command output (--json) only
}
