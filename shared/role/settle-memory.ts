import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

const SETTLE_AFTER_MS = 15_000

/**
 * Starting a node (loading modules and a model, catching up replicas) leaves tens of MB of garbage
 * that V8 hands back only when its memory reducer finds the process idle, minutes later: an idle
 * devnet's inference node sat at ~132 MB RSS for its first two minutes, then ~107 MB (measured).
 * One full collection shortly after start returns it then. Once per process, never again.
 */
export function settleMemoryAfterStart (afterMs = SETTLE_AFTER_MS): void {
  setTimeout(() => { fullCollection() }, afterMs).unref()
}

function fullCollection (): void {
  const exposed = (globalThis as { gc?: () => void }).gc
  if (exposed) {
    exposed()
    return
  }
  // Node offers no gc() without --expose-gc; the flag set at run time exposes it to a new context.
  setFlagsFromString('--expose-gc')
  const gc = runInNewContext('gc') as () => void
  gc()
}
