// The gateway's admission queue under npm run bench: one worker slot, 1,000 requests at once.
import type { HyperinferClient } from '../../client-cli/client.js'
import { percentile } from './measure.js'

const MODEL = 'qwen2.5:0.5b'

export interface QueueRowDeps {
  client: HyperinferClient
  /** Starts the fake Ollama (answers at once) and a worker on it with one slot. */
  startOneSlotWorker (): Promise<void>
  gatewayRss (): number
  requests?: number
}

/**
 * Baseline: the same path one request at a time (nothing queues). Then all requests at once:
 * they wait in the gateway's queue and go out one by one as the slot frees. The gateway's
 * added time per request is the burst's time per request minus the baseline's.
 */
export async function queueRow ({ client, startOneSlotWorker, gatewayRss, requests = 1_000 }: QueueRowDeps): Promise<string[]> {
  await startOneSlotWorker()
  const call = async (): Promise<unknown> => await client.infer({ model: MODEL, prompt: 'hi', maxTokens: 4 })
  for (let ready = false; !ready;) {
    ready = await call().then(() => true, () => false)
    if (!ready) await new Promise(resolve => setTimeout(resolve, 200))
  }
  const sequential: number[] = []
  const seqStarted = performance.now()
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now()
    await call()
    sequential.push(performance.now() - t0)
  }
  const perRequestAlone = (performance.now() - seqStarted) / sequential.length
  sequential.sort((a, b) => a - b)

  const rssIdle = gatewayRss()
  let rssPeak = rssIdle
  const sampler = setInterval(() => { rssPeak = Math.max(rssPeak, gatewayRss()) }, 50)
  let errors = 0
  const latencies: number[] = []
  const started = performance.now()
  await Promise.all(Array.from({ length: requests }, async () => {
    const t0 = performance.now()
    try {
      await call()
      latencies.push(performance.now() - t0)
    } catch {
      errors++
    }
  }))
  const elapsed = performance.now() - started
  clearInterval(sampler)
  latencies.sort((a, b) => a - b)
  const perRequestQueued = elapsed / requests
  return [
    `one worker slot, 1 in flight (baseline): ${sequential.length} requests, ${perRequestAlone.toFixed(3)} ms per request, p50 ${percentile(sequential, 0.5).toFixed(3)} ms`,
    `one worker slot, ${requests} at once (queued at the gateway): ${latencies.length} ok, ${errors} errors, ${(elapsed / 1000).toFixed(2)} s, ` +
      `${perRequestQueued.toFixed(3)} ms per request, wait p50 ${percentile(latencies, 0.5).toFixed(0)} ms, p99 ${percentile(latencies, 0.99).toFixed(0)} ms`,
    `  -> queueing adds ${(perRequestQueued - perRequestAlone).toFixed(3)} ms per request (${((perRequestAlone / perRequestQueued) * 100).toFixed(1)}% of the baseline's rate); ` +
      `gateway RSS ${rssIdle.toFixed(0)} MB before, ${rssPeak.toFixed(0)} MB peak`
  ]
}
