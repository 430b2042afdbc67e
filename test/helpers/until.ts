import type { EventEmitter } from 'node:events'

/** What a truthy check returned: the falsy members of T taken out. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | '' | null | undefined>

export interface UntilOptions {
  /** Give up after this long; default 30 s. */
  timeoutMs?: number
  /** Look again this often; default 50 ms, or 250 ms when `on` names the events that matter. */
  everyMs?: number
  /** Look again at once whenever one of these emits (the poll is then only a fallback). */
  on?: ReadonlyArray<readonly [EventEmitter, string]>
}

/**
 * The one wait of the tests: resolves with the first truthy value `check` returns, looking at
 * once, on every event of `opts.on` and every `everyMs`; rejects naming `what` after `timeoutMs`.
 * A bounded wait for a condition, never an assertion about speed.
 */
export async function until<T> (what: string, check: () => T | Promise<T>, opts: UntilOptions = {}): Promise<Truthy<T>> {
  const timeoutMs = opts.timeoutMs ?? 30_000
  const everyMs = opts.everyMs ?? (opts.on ? 250 : 50)
  const deadline = Date.now() + timeoutMs
  let woken = false
  let wake = (): void => { woken = true }
  const onEvent = (): void => { wake() }
  for (const [emitter, event] of opts.on ?? []) emitter.on(event, onEvent)
  try {
    for (;;) {
      woken = false
      const value = await check()
      if (value) return value as Truthy<T>
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
      if (woken) continue
      await new Promise<void>(resolve => {
        const timer = setTimeout(resolve, Math.min(everyMs, left))
        wake = () => { clearTimeout(timer); resolve() }
      })
      wake = () => { woken = true }
    }
  } finally {
    for (const [emitter, event] of opts.on ?? []) emitter.off(event, onEvent)
  }
}
