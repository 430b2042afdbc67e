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

/**
 * One call in flight, the paths taken in turn (A, B, C, A, B, C, ...) for `seconds`: a busy
 * spell on the machine hits every path alike, so their differences hold even when the machine
 * is not idle. req/s is each path's calls over the time spent in them.
 */
export async function runPaired (paths: Array<{ label: string, call: () => Promise<unknown> }>, seconds: number, maxRounds = 1_000_000): Promise<LoadResult[]> {
  const latencies = paths.map(() => [] as number[])
  const errors = paths.map(() => 0)
  const deadline = performance.now() + seconds * 1000
  for (let round = 0; round < maxRounds && performance.now() < deadline; round++) {
    for (const [i, path] of paths.entries()) {
      const t0 = performance.now()
      try {
        await path.call()
        latencies[i].push(performance.now() - t0)
      } catch {
        errors[i]++
      }
    }
  }
  return paths.map((path, i) => {
    const sorted = latencies[i].sort((a, b) => a - b)
    const busySeconds = sorted.reduce((sum, ms) => sum + ms, 0) / 1000
    return {
      label: path.label,
      inFlight: 1,
      requests: sorted.length,
      errors: errors[i],
      seconds: busySeconds,
      rps: sorted.length / busySeconds,
      p50: percentile(sorted, 0.5),
      p99: percentile(sorted, 0.99)
    }
  })
}

/** Each path on its own for `seconds`, one after the other. */
export async function runEach (paths: Array<{ label: string, call: () => Promise<unknown> }>, inFlight: number, seconds: number): Promise<LoadResult[]> {
  const results: LoadResult[] = []
  for (const path of paths) results.push(await runLoad(path.label, inFlight, seconds, path.call))
  return results
}
