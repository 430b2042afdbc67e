/** Polls `fn` every 100 ms until it returns something truthy; throws naming `what` after `tries`. */
export async function until<T> (what: string, fn: () => Promise<T | undefined | false>, tries = 300): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const value = await fn()
    if (value) return value
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  throw new Error(`timed out waiting for ${what}`)
}
