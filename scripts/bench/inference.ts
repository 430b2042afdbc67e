// npm run bench:inference — stories260K tokens/s and time to first token: node-llama-cpp called directly
// (in a process of its own, launched like a role) vs through a worker's inference.run RPC (the worker in a
// child process, found by discovery on a local bootstrap, called with a MeshClient). Rounds alternate so
// both see the same machine; the goal (>= 95% of direct tokens/s) must hold in each of BENCH_RUNS runs
// (default 3) of BENCH_ROUNDS rounds (default 3).
//
// Both generating processes run on the same CPU (the worker pinned with its own --cpus), each with that
// CPU to itself while it generates (the other waits on the rest), and this process (bootstrap, client) on
// the others: both sides generate under the same conditions. BENCH_CPU=none leaves every process unpinned.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { startLocalBootstrap } from '../../shared/mesh/bootstrap.js'
import { MeshClient } from '../../shared/mesh/mesh-client.js'
import { inferenceRun } from '../../shared/schemas/inference.js'
import { BUNDLED_MODEL } from '../../services/inference/backends/create-backends.js'
import { exitOnSignals } from './bench-processes.js'
import { programEntry } from '../../shared/paths.js'
import { allowedCpus, expandCpuList, pinToCpus } from '../../shared/role/cpu-affinity.js'
import { roleLaunch } from '../../shared/role/process-tuning.js'
import type { DirectRequest, DirectRun as Run } from './llama-direct.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const MAX_TOKENS = Number(process.env.BENCH_MAX_TOKENS ?? 256)
const PROMPT = 'Once upon a time'
const WARMUP_ROUNDS = Number(process.env.BENCH_WARMUP ?? 20)

/** The CPU both generating processes run on, and the CPUs left to this process; null: nothing pinned. */
async function cpuPlan (): Promise<{ generation: string, rest: string } | null> {
  if (process.env.BENCH_CPU === 'none' || process.platform !== 'linux') return null
  const cpus = expandCpuList(await allowedCpus())
  if (cpus.length < 2) return null
  return { generation: String(cpus[cpus.length - 1]), rest: cpus.slice(0, -1).join(',') }
}

/** The child's next IPC message; rejects if it exits first. */
function nextMessage<T> (proc: ChildProcess, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: T): void => { proc.off('exit', onExit); resolve(message) }
    const onExit = (code: number | null, signal: string | null): void => {
      proc.off('message', onMessage)
      reject(new Error(`${what} exited (${signal ?? code}) before it answered`))
    }
    proc.once('message', onMessage)
    proc.once('exit', onExit)
  })
}

const exited = (proc: ChildProcess): Promise<unknown> => proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : once(proc, 'exit')

const plan = await cpuPlan()
if (plan) await pinToCpus(process.pid, plan.rest)
const pinning = plan ? ['--cpus', plan.generation] : []

const baselineLaunch = roleLaunch(programEntry('scripts/bench/llama-direct'), plan ? [plan.generation] : [], process.env)
const baseline = spawn(process.execPath, baselineLaunch.args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: baselineLaunch.env })
const bootstrap = await startLocalBootstrap()
const dataDir = mkdtempSync(join(tmpdir(), 'hyperinfer-bench-inference-'))
// on any way out, an error or a signal included: no child left running, no data left behind
let workerProcess: ChildProcess | null = null
exitOnSignals()
process.once('exit', () => {
  baseline.kill('SIGKILL')
  workerProcess?.kill('SIGKILL')
  rmSync(dataDir, { recursive: true, force: true })
})
const baselineReady = await nextMessage<unknown>(baseline, 'the direct baseline')
if (baselineReady !== 'ready') throw new Error(`the direct baseline did not start: ${JSON.stringify(baselineReady)}`)

async function directRun ({ prompt = PROMPT, maxTokens = MAX_TOKENS, clear = false } = {}): Promise<Run> {
  await giveGenerationCpu(baseline, child)
  baseline.send({ prompt, maxTokens, clear } satisfies DirectRequest)
  const reply = await nextMessage<Run | { error: string }>(baseline, 'the direct baseline')
  if ('error' in reply) throw new Error(`direct generation failed: ${reply.error}`)
  return reply
}

const boot = bootstrap.bootstrap.map(b => `${b.host}:${b.port}`).join(',')
const workerLaunch = roleLaunch(programEntry('services/main'), ['inference',
  '--bootstrap', boot, '--network', 'bench-inference', '--data-dir', dataDir, '--log-level', 'error',
  '--llama-model', BUNDLED_MODEL, '--llama-threads', '1', '--no-cache', '--max-tokens', String(MAX_TOKENS), ...pinning], process.env)
const child = spawn(process.execPath, workerLaunch.args, { stdio: ['ignore', 'inherit', 'inherit'], env: workerLaunch.env })
workerProcess = child
const client = new MeshClient({ network: { name: 'bench-inference' }, bootstrap: bootstrap.bootstrap, refreshIntervalMs: 500 })
const [peer] = await client.discovery.waitFor('inference', { timeoutMs: 60_000 })
const worker = client.client(peer.publicKey)

/** The side about to generate gets the generation CPU to itself; the other waits on the rest (its GC and timers too). */
async function giveGenerationCpu (generating: ChildProcess, waiting: ChildProcess): Promise<void> {
  if (!plan) return
  await pinToCpus(waiting.pid as number, plan.rest)
  await pinToCpus(generating.pid as number, plan.generation)
}

async function rpcRun ({ prompt = PROMPT, maxTokens = MAX_TOKENS } = {}): Promise<Run> {
  await giveGenerationCpu(child, baseline)
  const started = performance.now()
  let ttftMs = -1
  const stream = worker.stream(inferenceRun, { model: 'stories260K', prompt, maxTokens, temperature: 0 })
  for await (const _ of stream) if (ttftMs < 0) ttftMs = performance.now() - started
  const final = await stream.result
  if (final.cached) throw new Error('the worker answered from its cache: the bench needs --no-cache')
  return { tokens: final.usage.completionTokens, promptTokens: final.usage.promptTokens, seconds: (performance.now() - started) / 1000, ttftMs }
}

// node-llama-cpp takes a few generations to reach its steady speed (measured: 211, 205, 299, 190, 153 ms
// for the first five 256-token runs, then 120-130 ms), directly and in the worker alike, and pinned to
// one CPU there was one slow round more (200-218 ms) near the 13th.
for (let i = 0; i < WARMUP_ROUNDS; i++) {
  await directRun()
  await rpcRun()
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const summary = (runs: Run[]): { tps: number, ttft: number, tokens: number } => ({
  tps: runs.reduce((n, r) => n + r.tokens, 0) / runs.reduce((n, r) => n + r.seconds, 0),
  ttft: median(runs.map(r => r.ttftMs)),
  tokens: runs.reduce((n, r) => n + r.tokens, 0)
})
console.log(`bench:inference — stories260K, "${PROMPT}", greedy, ${MAX_TOKENS} tokens, ${RUNS} runs of ${ROUNDS} alternating rounds, 1 thread, ` +
  (plan ? `direct and worker pinned to CPU ${plan.generation}, bootstrap and client to ${plan.rest}` : 'nothing pinned'))
const ratios: number[] = []
for (let run = 1; run <= RUNS; run++) {
  const direct: Run[] = []
  const rpc: Run[] = []
  for (let i = 0; i < ROUNDS; i++) {
    direct.push(await directRun())
    rpc.push(await rpcRun())
  }
  const d = summary(direct)
  const r = summary(rpc)
  ratios.push(r.tps / d.tps)
  console.log(`run ${run}`)
  console.log(`  node-llama-cpp, own process  ${d.tps.toFixed(0).padStart(6)} tokens/s  time to first token p50 ${d.ttft.toFixed(2)} ms  (${d.tokens} tokens)`)
  console.log(`  worker RPC, other process    ${r.tps.toFixed(0).padStart(6)} tokens/s  time to first token p50 ${r.ttft.toFixed(2)} ms  (${r.tokens} tokens)`)
  console.log(`  -> the worker keeps ${(100 * r.tps / d.tps).toFixed(1)}% of direct throughput; first token +${(r.ttft - d.ttft).toFixed(2)} ms`)
}

// A conversation resends its history: the worker keeps the previous request's state, so a prompt that
// shares a long prefix with it is evaluated from where they differ. Baseline: direct calls on a cleared sequence.
const SHARED = 'Lily and her friend Ben went to the park to play on the swings and eat apples. '.repeat(12)
const cleared: number[] = []
const kept: number[] = []
const prefixTokens = (await directRun({ prompt: SHARED, maxTokens: 1, clear: true })).promptTokens
for (let i = 0; i < 10; i++) {
  const prompt = `${SHARED}Then question ${i} was`
  cleared.push((await directRun({ prompt, maxTokens: 4, clear: true })).ttftMs)
  kept.push((await rpcRun({ prompt, maxTokens: 4 })).ttftMs)
}
console.log(`shared prefix of ${prefixTokens} tokens, 10 prompts that differ after it: time to first token p50 ` +
  `${median(cleared).toFixed(2)} ms direct on a cleared sequence, ${median(kept).toFixed(2)} ms through the worker ` +
  `(${(median(cleared) / median(kept)).toFixed(1)}x faster)`)
const met = ratios.every(ratio => ratio >= 0.95)
console.log(`goal: >= 95% of direct node-llama-cpp tokens/s in each of ${RUNS} runs — ${ratios.map(x => `${(x * 100).toFixed(1)}%`).join(', ')}: ${met ? 'met' : 'NOT met'}`)

await client.close()
child.kill('SIGTERM')
baseline.disconnect()
await Promise.all([exited(child), exited(baseline)])
await bootstrap.close()
