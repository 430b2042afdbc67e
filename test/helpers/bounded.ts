import { HyperinferError } from '../../shared/errors.js'

/** Resolves when `check` holds; rejects naming `what` after `withinMs` (a bounded wait, not a timing assert). */
export async function within (what: string, withinMs: number, check: () => boolean | Promise<boolean>): Promise<void> {
  const deadline = Date.now() + withinMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`${what}: not within ${withinMs} ms`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** 'OK', or the code of the HyperinferError the call failed with. */
export async function codeOf (pending: Promise<unknown>): Promise<string> {
  try {
    await pending
    return 'OK'
  } catch (err) {
    return err instanceof HyperinferError ? err.code : `not coded: ${(err as Error).message}`
  }
}
