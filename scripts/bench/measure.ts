/** Load loops shared by the benchmarks: bounded by time and count, latencies in ms. */
export interface LoadResult { label: string, inFlight: number, requests: number, errors: number, seconds: number, rps: number, p50: number, p99: number }

export async function runLoad (label: string, inFlight: number, seconds: number, call: () => Promise<unknown>, maxRequests = 2_000_000): Promise<LoadResult> {
  const latencies: number[] = []
  let errors = 0
  let issued = 0
  const deadline = performance.now() + seconds * 1000
  const started = performance.now()
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline && issued < maxRequests) {
      issued++
      const t0 = performance.now()
      try {
        await call()
        latencies.push(performance.now() - t0)
      } catch {
        errors++
      }
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  const elapsed = (performance.now() - started) / 1000
  latencies.sort((a, b) => a - b)
  return {
    label,
    inFlight,
    requests: latencies.length,
    errors,
    seconds: elapsed,
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99)
  }
}

export function percentile (sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

export function formatRow (r: LoadResult): string {
  return `${r.label.padEnd(28)} in-flight ${String(r.inFlight).padStart(3)}  ${r.rps.toFixed(0).padStart(7)} req/s  p50 ${r.p50.toFixed(3)} ms  p99 ${r.p99.toFixed(3)} ms  (${r.requests} ok, ${r.errors} errors)`
}
