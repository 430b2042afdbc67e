// `npm run soak -- --minutes N [--rps 1]`: runs a devnet for N minutes, samples every node's CPU,
// RSS and heap-after-GC from the metrics node's /metrics (and the devnet process itself from /proc),
// prints a table and exits 1 when a node breaks a bound. Run it under ../shared/tools/offline.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Command } from 'commander'
import { freeUdpPort } from '../shared/mesh/bootstrap.js'
import { PACKAGE_ROOT, programEntry } from '../shared/paths.js'
import { roleLaunch } from '../shared/role/process-tuning.js'
import { parseSamples, type Sample } from './soak-samples.js'
import { runLoad } from './soak-load.js'
import { MODEL_BASELINE, soakReport } from './soak-report.js'

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
/** A script of scripts/ as the soak runs it: from dist/ when built, else through tsx. */
const soakProgram = (name: string): { file: string, execArgv: string[] } => programEntry(`scripts/${name}`, compiled)
const devnetEntry = soakProgram('devnet')
console.log(`soak: devnet from ${compiled ? 'dist/' : 'source (tsx)'}, data in ${home}, ${opts.minutes} min, sample every ${opts.interval} s, ${opts.rps} req/s`)
const devnet = spawn(process.execPath, [...devnetEntry.execArgv, devnetEntry.file], {
  cwd: PACKAGE_ROOT,
  // config/soak.json: the soak's user may send a request a second for an hour (the default plan allows 100 an hour).
  env: { ...process.env, HYPERINFER_ENV: process.env.HYPERINFER_ENV ?? 'soak', HYPERINFER_HOME: home, METRICS_PORT: String(metricsPort), WEB_SERVICE_PORT: String(metricsPort + 1), LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
  stdio: ['ignore', 'pipe', 'inherit']
})
// With load, the model's own work for the same requests runs beside the mesh (a process like a role's), so the
// inference node is judged on what it adds to the generations it was asked for.
const baseline = opts.rps > 0 ? spawnBaseline() : null

function spawnBaseline (): ChildProcess {
  const launch = roleLaunch(soakProgram('soak-model-baseline'), ['--rps', String(opts.rps)], process.env)
  return spawn(process.execPath, launch.args, { cwd: PACKAGE_ROOT, env: launch.env, stdio: ['ignore', 'ignore', 'inherit'] })
}
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
const stopBaseline = async (): Promise<void> => {
  if (!baseline || baseline.exitCode !== null || baseline.signalCode !== null) return
  const exited = new Promise(resolve => baseline.once('exit', resolve))
  baseline.kill('SIGTERM')
  await Promise.race([exited, sleep(10_000).then(() => baseline.kill('SIGKILL'))])
}
process.once('SIGINT', () => { void stopBaseline(); void stopDevnet().then(() => process.exit(130)) })

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
    const local = [procSample(devnet.pid, 'devnet'), procSample(baseline?.pid, MODEL_BASELINE)].filter(sample => sample !== null)
    for (const sample of [...await scrapeMesh(), ...local]) {
      const list = series.get(sample.key) ?? []
      list.push(sample)
      series.set(sample.key, list)
    }
    if (Date.now() >= until) break
    await sleep(Math.min(opts.interval * 1000, Math.max(0, until - Date.now())))
  }
  const stats = load ? await load.stop() : null
  const verdict = soakReport(series, stats, opts)
  console.log(verdict.text)
  exitCode = verdict.ok ? 0 : 1
} catch (err) {
  console.error(`soak: ${(err as Error).message}`)
} finally {
  await stopBaseline()
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

/** Processes that are no mesh node (the devnet's bootstrap DHT and its client, the model baseline): read from /proc. */
function procSample (pid: number | undefined, role: string): Sample | null {
  if (!pid || !existsSync(`/proc/${pid}/stat`)) return null
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0)
  return { key: role, role, node: String(pid), at: Date.now(), cpuSeconds: ticks / 100, rssBytes: rssKb * 1024, heapAfterGcBytes: null }
}
