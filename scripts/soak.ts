// `npm run soak -- --minutes N [--rps 1]`: runs a devnet for N minutes, samples every node's CPU,
// RSS and heap-after-GC from the metrics node's /metrics (and the devnet process itself from /proc),
// prints a table and exits 1 when a node breaks a bound. Run it under ../shared/tools/offline.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { freeUdpPort } from '../shared/mesh/bootstrap.js'
import { PACKAGE_ROOT } from '../shared/paths.js'
import { parseSamples, type Sample } from './soak-samples.js'
import { runLoad, type LoadStats } from './soak-load.js'

const program = new Command('soak')
  .option('--minutes <n>', 'how long to sample', Number, 10)
  .option('--interval <s>', 'seconds between samples', Number, 30)
  .option('--warmup <s>', 'seconds after ready before the first sample', Number, 60)
  .option('--rps <n>', 'inference requests a second through the gateway (0: idle)', Number, 0)
  .option('--max-cpu <percent>', 'highest average CPU per node, % of one core', Number, 1)
  .option('--max-rss <mb>', 'highest RSS per node, MB', Number, 120)
  .option('--max-heap-growth <mb>', 'highest heap-after-GC growth over the second half, MB', Number, 5)
  .option('--source', 'run the devnet from source through tsx instead of dist/')
  .parse()
const opts = program.opts<{ minutes: number, interval: number, warmup: number, rps: number, maxCpu: number, maxRss: number, maxHeapGrowth: number, source?: boolean }>()

const home = mkdtempSync(join(tmpdir(), 'hyperinfer-soak-'))
const metricsPort = await freeUdpPort()
const compiled = !opts.source && existsSync(join(PACKAGE_ROOT, 'dist', 'scripts', 'devnet.js'))
const entry = compiled ? [join(PACKAGE_ROOT, 'dist', 'scripts', 'devnet.js')] : ['--import=tsx', join(PACKAGE_ROOT, 'scripts', 'devnet.ts')]
console.log(`soak: devnet from ${compiled ? 'dist/' : 'source (tsx)'}, data in ${home}, ${opts.minutes} min, sample every ${opts.interval} s, ${opts.rps} req/s`)
const devnet = spawn(process.execPath, entry, {
  cwd: PACKAGE_ROOT,
  // config/soak.json: the soak's user may send a request a second for an hour (the default plan allows 100 an hour).
  env: { ...process.env, HYPERINFER_ENV: process.env.HYPERINFER_ENV ?? 'soak', HYPERINFER_HOME: home, METRICS_PORT: String(metricsPort), WEB_SERVICE_PORT: String(metricsPort + 1), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  stdio: ['ignore', 'pipe', 'inherit']
})
let output = ''
devnet.stdout.on('data', chunk => {
  output += String(chunk)
  if (output.length > 100_000) output = output.slice(-50_000)
})
const stopDevnet = async (): Promise<void> => {
  if (devnet.exitCode !== null || devnet.signalCode !== null) return
  const exited = new Promise(resolve => devnet.once('exit', resolve))
  devnet.kill('SIGINT')
  await Promise.race([exited, sleep(30_000).then(() => devnet.kill('SIGKILL'))])
}
process.once('SIGINT', () => { void stopDevnet().then(() => process.exit(130)) })

const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

let exitCode = 1
try {
  const readyBy = Date.now() + 180_000
  while (!output.includes('hyperinfer devnet is ready')) {
    if (devnet.exitCode !== null) throw new Error(`the devnet exited (${devnet.exitCode}) before it was ready:\n${output}`)
    if (Date.now() > readyBy) throw new Error(`the devnet was not ready within 180 s:\n${output.slice(-2000)}`)
    await sleep(500)
  }
  console.log(`soak: devnet ready; warming up ${opts.warmup} s`)
  const load = opts.rps > 0 ? runLoad(home, opts.rps) : null
  await sleep(opts.warmup * 1000)
  const series = new Map<string, Sample[]>()
  const until = Date.now() + opts.minutes * 60_000
  for (;;) {
    for (const sample of [...await scrapeMesh(), ...devnetSample()]) {
      const list = series.get(sample.key) ?? []
      list.push(sample)
      series.set(sample.key, list)
    }
    if (Date.now() >= until) break
    await sleep(Math.min(opts.interval * 1000, Math.max(0, until - Date.now())))
  }
  const stats = load ? await load.stop() : null
  exitCode = report(series, stats) ? 0 : 1
} catch (err) {
  console.error(`soak: ${(err as Error).message}`)
} finally {
  await stopDevnet()
  rmSync(home, { recursive: true, force: true })
}
process.exit(exitCode)

async function scrapeMesh (): Promise<Sample[]> {
  try {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { signal: AbortSignal.timeout(10_000) })
    return parseSamples(await res.text(), Date.now())
  } catch (err) {
    console.error(`soak: scrape failed: ${(err as Error).message}`)
    return []
  }
}

/** The devnet process (bootstrap DHT + its client) is no mesh node: read it from /proc. */
function devnetSample (): Sample[] {
  const pid = devnet.pid
  if (!pid || !existsSync(`/proc/${pid}/stat`)) return []
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
  return [{ key: 'devnet', role: 'devnet', node: String(pid), at: Date.now(), cpuSeconds: ticks / 100, rssBytes: rssKb * 1024, heapAfterGcBytes: null }]
}

function report (series: Map<string, Sample[]>, load: LoadStats | null): boolean {
  const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
  const rows: string[][] = [['role', 'node', 'samples', 'CPU avg %', 'RSS first MB', 'RSS max MB', 'RSS last MB', 'heap-GC first MB', 'heap-GC mid MB', 'heap-GC last MB', '2nd-half growth MB', 'DHT routing node', 'verdict']]
  let ok = true
  for (const samples of [...series.values()].sort((a, b) => a[0].role.localeCompare(b[0].role))) {
    const first = samples[0]
    const last = samples[samples.length - 1]
    const mid = samples[Math.floor((samples.length - 1) / 2)]
    const seconds = (last.at - first.at) / 1000
    const cpu = seconds > 0 ? (last.cpuSeconds - first.cpuSeconds) / seconds * 100 : NaN
    const rssMax = Math.max(...samples.map(s => s.rssBytes))
    const growth = last.heapAfterGcBytes !== null && mid.heapAfterGcBytes !== null ? last.heapAfterGcBytes - mid.heapAfterGcBytes : null
    const problems: string[] = []
    if (samples.length < 2) problems.push('too few samples')
    if (cpu > opts.maxCpu) problems.push(`CPU > ${opts.maxCpu}%`)
    if (rssMax > opts.maxRss * 1024 * 1024) problems.push(`RSS > ${opts.maxRss} MB`)
    if (growth !== null && growth > opts.maxHeapGrowth * 1024 * 1024) problems.push(`heap grew > ${opts.maxHeapGrowth} MB`)
    if (last.dhtPersistent === 1) problems.push('became a DHT routing node')
    if (problems.length > 0) ok = false
    rows.push([
      first.role, first.node.slice(0, 8), String(samples.length), cpu.toFixed(2),
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
    console.log('soak: no samples')
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)))
  const line = (row: string[]): string => '| ' + row.map((cell, i) => cell.padEnd(widths[i])).join(' | ') + ' |'
  console.log('')
  console.log(line(rows[0]))
  console.log('|' + widths.map(w => '-'.repeat(w + 2)).join('|') + '|')
  for (const row of rows.slice(1)) console.log(line(row))
  if (load) {
    console.log(`\nload: ${load.ok} ok, ${load.failed} failed of ${load.sent} requests${load.failures.length > 0 ? ` (first failures: ${load.failures.slice(0, 5).join('; ')})` : ''}`)
    if (load.failed > 0) ok = false
  }
  console.log(`\nsoak: ${ok ? 'PASS' : 'FAIL'} (bounds: CPU <= ${opts.maxCpu}% of a core on average, RSS <= ${opts.maxRss} MB, heap after GC grows < ${opts.maxHeapGrowth} MB over the second half)`)
  return ok
}
