/** Exponential backoff with jitter, so retrying nodes do not hit a recovering DHT in step. */
export class Backoff {
  attempts = 0
  private readonly initialMs: number
  private readonly maxMs: number

  constructor ({ initialMs = 500, maxMs = 30_000 }: { initialMs?: number, maxMs?: number } = {}) {
    this.initialMs = initialMs
    this.maxMs = maxMs
  }

  /** The wait before the next attempt. */
  next (): number {
    const base = Math.min(this.maxMs, this.initialMs * 2 ** this.attempts)
    this.attempts++
    return Math.round(base * (0.75 + Math.random() * 0.5))
  }

  reset (): void {
    this.attempts = 0
  }
}
