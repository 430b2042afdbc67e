import type { LoadStats } from './soak-load.js'
import { SOAK_GENERATION } from './soak-generation.js'
import type { Sample } from './soak-samples.js'

/** The role name of the model baseline's samples: node-llama-cpp alone, beside the mesh. */
export const MODEL_BASELINE = 'model alone'

/** The average CPU of a process over its samples, % of one core. */
export function cpuPercent (samples: Sample[]): number {
  const first = samples[0]
  const last = samples[samples.length - 1]
  const seconds = (last.at - first.at) / 1000
  return seconds > 0 ? (last.cpuSeconds - first.cpuSeconds) / seconds * 100 : NaN
}

export interface SoakBounds { maxCpu: number, maxRss: number, maxHeapGrowth: number, rps: number }

/** The soak's table and verdict: every node against the bounds, the inference node net of the model baseline. */
export function soakReport (series: Map<string, Sample[]>, load: LoadStats | null, opts: SoakBounds): { ok: boolean, text: string } {
  const out: string[] = []
  const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
  const baselineSamples = series.get(MODEL_BASELINE)
  const modelCpu = baselineSamples ? cpuPercent(baselineSamples) : null
  const rows: string[][] = [['role', 'node', 'samples', 'CPU avg %', 'CPU net of model %', 'RSS first MB', 'RSS max MB', 'RSS last MB', 'heap-GC first MB', 'heap-GC mid MB', 'heap-GC last MB', '2nd-half growth MB', 'DHT routing node', 'verdict']]
  let ok = true
  for (const samples of [...series.values()].sort((a, b) => a[0].role.localeCompare(b[0].role))) {
    const first = samples[0]
    const last = samples[samples.length - 1]
    const mid = samples[Math.floor((samples.length - 1) / 2)]
    const cpu = cpuPercent(samples)
    // The inference node's CPU includes the generations the load asked for: judged on what it adds to them.
    const judgedCpu = first.role === 'inference' && modelCpu !== null ? cpu - modelCpu : cpu
    const rssMax = Math.max(...samples.map(s => s.rssBytes))
    const growth = last.heapAfterGcBytes !== null && mid.heapAfterGcBytes !== null ? last.heapAfterGcBytes - mid.heapAfterGcBytes : null
    const problems: string[] = []
    if (samples.length < 2) problems.push('too few samples')
    if (first.role === MODEL_BASELINE) {
      rows.push([first.role, first.node.slice(0, 8), String(samples.length), cpu.toFixed(2), '-', mb(first.rssBytes), mb(rssMax), mb(last.rssBytes), '-', '-', '-', '-', '-', 'not a node: not judged'])
      continue
    }
    if (judgedCpu > opts.maxCpu) problems.push(`CPU${judgedCpu === cpu ? '' : ' net of model'} > ${opts.maxCpu}%`)
    if (rssMax > opts.maxRss * 1024 * 1024) problems.push(`RSS > ${opts.maxRss} MB`)
    if (growth !== null && growth > opts.maxHeapGrowth * 1024 * 1024) problems.push(`heap grew > ${opts.maxHeapGrowth} MB`)
    if (last.dhtPersistent === 1) problems.push('became a DHT routing node')
    if (problems.length > 0) ok = false
    rows.push([
      first.role, first.node.slice(0, 8), String(samples.length), cpu.toFixed(2), judgedCpu === cpu ? '-' : judgedCpu.toFixed(2),
      mb(first.rssBytes), mb(rssMax), mb(last.rssBytes),
      first.heapAfterGcBytes === null ? '-' : mb(first.heapAfterGcBytes),
      mid.heapAfterGcBytes === null ? '-' : mb(mid.heapAfterGcBytes),
      last.heapAfterGcBytes === null ? '-' : mb(last.heapAfterGcBytes),
      growth === null ? '-' : mb(growth),
      last.dhtPersistent === undefined ? '-' : last.dhtPersistent === 1 ? 'yes' : 'no',
      problems.length === 0 ? 'ok' : problems.join('; ')
    ])
  }
  if (series.size === 0) {
    ok = false
    out.push('soak: no samples')
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)))
  const line = (row: string[]): string => '| ' + row.map((cell, i) => cell.padEnd(widths[i])).join(' | ') + ' |'
  out.push('', line(rows[0]), '|' + widths.map(w => '-'.repeat(w + 2)).join('|') + '|', ...rows.slice(1).map(line))
  if (load) {
    out.push(`\nload: ${load.ok} ok, ${load.failed} failed of ${load.sent} requests${load.failures.length > 0 ? ` (first failures: ${load.failures.slice(0, 5).join('; ')})` : ''}`)
    if (load.failed > 0) ok = false
  }
  if (modelCpu !== null) out.push(`\n${MODEL_BASELINE}: node-llama-cpp alone, in its own process, ran the generation each request asks for (${SOAK_GENERATION.maxTokens} tokens at temperature ${SOAK_GENERATION.temperature}) ${opts.rps} time(s) a second: ${modelCpu.toFixed(2)}% of a core. The inference node's CPU is judged net of it.`)
  out.push(`\nsoak: ${ok ? 'PASS' : 'FAIL'} (bounds: CPU <= ${opts.maxCpu}% of a core on average (the inference node's net of the model's own work), RSS <= ${opts.maxRss} MB, heap after GC grows < ${opts.maxHeapGrowth} MB over the second half)`)
  return { ok, text: out.join('\n') }
}
