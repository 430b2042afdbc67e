import { HyperinferError } from '../../shared/errors.js'
import type { PeerClient } from '../../shared/mesh/peer-client.js'
import { metrics } from '../../shared/schemas/mesh.js'
import { parseExposition, type Family } from './exposition.js'
import type { ScrapeFailure } from './own-metrics.js'

export type ScrapeResult =
  | { ok: true, families: Family[], skipped: number }
  | { ok: false, reason: ScrapeFailure, message: string, skipped: number }

/**
 * Asks one node for its registry over the `metrics` RPC and parses it. Never throws and never
 * waits longer than `timeoutMs`, whatever the peer does.
 */
export async function scrapeNode (client: PeerClient, opts: { timeoutMs: number, maxBytes: number }): Promise<ScrapeResult> {
  let text: string
  try {
    const signal = AbortSignal.timeout(opts.timeoutMs)
    const reply = await client.call(metrics, {}, { timeoutMs: opts.timeoutMs, signal })
    text = reply.text
  } catch (err) {
    const coded = err instanceof HyperinferError ? err : new HyperinferError('UNAVAILABLE', (err as Error)?.message ?? String(err))
    const timedOut = coded.code === 'TIMEOUT' || coded.code === 'CANCELLED'
    return { ok: false, reason: timedOut ? 'timeout' : 'error', message: timedOut ? `no answer within ${opts.timeoutMs} ms` : `${coded.code}: ${coded.message}`, skipped: 0 }
  }
  if (Buffer.byteLength(text) > opts.maxBytes) {
    return { ok: false, reason: 'too_large', message: `metrics text larger than ${opts.maxBytes} bytes`, skipped: 0 }
  }
  const { families, skipped } = parseExposition(text)
  if (families.length === 0 && skipped > 0) {
    return { ok: false, reason: 'parse', message: `metrics text did not parse (${skipped} bad lines)`, skipped }
  }
  return { ok: true, families, skipped }
}
