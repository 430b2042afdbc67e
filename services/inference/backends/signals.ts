/** An AbortController that also aborts when `parent` does; `unlink` when done to drop the listener. */
export function linkedController (parent: AbortSignal): { controller: AbortController, unlink (): void } {
  const controller = new AbortController()
  const onAbort = (): void => { controller.abort(parent.reason) }
  if (parent.aborted) onAbort()
  else parent.addEventListener('abort', onAbort, { once: true })
  return { controller, unlink: () => { parent.removeEventListener('abort', onAbort) } }
}
