// npm run bench:inference — stories260K tokens/s and time to first token: node-llama-cpp called directly
// (in this process) vs through a worker's inference.run RPC (the worker in a child process, found by
// discovery on a local bootstrap, called with a MeshClient). Rounds alternate so both see the same machine;
// the goal (>= 95% of direct tokens/s) must hold in each of BENCH_RUNS runs (default 3) of BENCH_ROUNDS rounds (default 3).
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getLlama, LlamaCompletion } from 'node-llama-cpp'
import { startLocalBootstrap } from '../../shared/mesh/bootstrap.js'
import { MeshClient } from '../../shared/mesh/mesh-client.js'
import { inferenceRun } from '../../shared/schemas/inference.js'
import { BUNDLED_MODEL } from '../../services/inference/backends/create-backends.js'
import { programEntry } from '../../shared/paths.js'
import { roleLaunch } from '../../shared/role/process-tuning.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3)
const RUNS = Number(process.env.BENCH_RUNS ?? 3)
const MAX_TOKENS = Number(process.env.BENCH_MAX_TOKENS ?? 256)
const PROMPT = 'Once upon a time'
const WARMUP_ROUNDS = Number(process.env.BENCH_WARMUP ?? 8)

interface Run { tokens: number, seconds: number, ttftMs: number }

const llama = await getLlama({ gpu: false, build: 'never' })
const model = await llama.loadModel({ modelPath: BUNDLED_MODEL })
const context = await model.createContext({ contextSize: 2048, threads: 1 })
const sequence = context.getSequence()

// Not cleared between runs unless asked: the worker keeps its sequence's state too, so both evaluate the same tokens.
async function directRun ({ prompt = PROMPT, maxTokens = MAX_TOKENS, clear = false } = {}): Promise<Run> {
  if (clear) await sequence.clearHistory()
  const completion = new LlamaCompletion({ contextSequence: sequence })
  const started = performance.now()
  let ttftMs = -1
  let tokens = 0
  await completion.generateCompletion(prompt, {
    maxTokens,
    temperature: 0,
    onToken: t => { tokens += t.length },
    onTextChunk: () => { if (ttftMs < 0) ttftMs = performance.now() - started }
  })
  completion.dispose({ disposeSequence: false })
  return { tokens, seconds: (performance.now() - started) / 1000, ttftMs }
}

const bootstrap = await startLocalBootstrap()
const dataDir = mkdtempSync(join(tmpdir(), 'hyperinfer-bench-inference-'))
const boot = bootstrap.bootstrap.map(b => `${b.host}:${b.port}`).join(',')
const workerLaunch = roleLaunch(programEntry('services/main'), ['inference',
  '--bootstrap', boot, '--network', 'bench-inference', '--data-dir', dataDir, '--log-level', 'warn',
  '--llama-model', BUNDLED_MODEL, '--llama-threads', '1', '--no-cache', '--max-tokens', String(MAX_TOKENS)], process.env)
const child = spawn(process.execPath, workerLaunch.args, { stdio: ['ignore', 'inherit', 'inherit'], env: workerLaunch.env })
const client = new MeshClient({ network: { name: 'bench-inference' }, bootstrap: bootstrap.bootstrap, refreshIntervalMs: 500 })
const [peer] = await client.discovery.waitFor('inference', { timeoutMs: 60_000 })
const worker = client.client(peer.publicKey)

async function rpcRun ({ prompt = PROMPT, maxTokens = MAX_TOKENS } = {}): Promise<Run> {
  const started = performance.now()
  let ttftMs = -1
  const stream = worker.stream(inferenceRun, { model: 'stories260K', prompt, maxTokens, temperature: 0 })
  for await (const _ of stream) if (ttftMs < 0) ttftMs = performance.now() - started
  const final = await stream.result
  if (final.cached) throw new Error('the worker answered from its cache: the bench needs --no-cache')
  return { tokens: final.usage.completionTokens, seconds: (performance.now() - started) / 1000, ttftMs }
}

// node-llama-cpp takes a few generations to reach its steady speed (measured: 222, 175, 230, 168, 173
// ms for the first five 256-token runs, then 135-147 ms), in this process and in the worker alike.
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
console.log(`bench:inference — stories260K, "${PROMPT}", greedy, ${MAX_TOKENS} tokens, ${RUNS} runs of ${ROUNDS} alternating rounds, 1 thread`)
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
  console.log(`  node-llama-cpp direct        ${d.tps.toFixed(0).padStart(6)} tokens/s  time to first token p50 ${d.ttft.toFixed(2)} ms  (${d.tokens} tokens)`)
  console.log(`  worker RPC, other process    ${r.tps.toFixed(0).padStart(6)} tokens/s  time to first token p50 ${r.ttft.toFixed(2)} ms  (${r.tokens} tokens)`)
  console.log(`  -> the worker keeps ${(100 * r.tps / d.tps).toFixed(1)}% of direct throughput; first token +${(r.ttft - d.ttft).toFixed(2)} ms`)
}

// A conversation resends its history: the worker keeps the previous request's state, so a prompt that
// shares a long prefix with it is evaluated from where they differ. Baseline: direct calls on a cleared sequence.
const SHARED = 'Lily and her friend Ben went to the park to play on the swings and eat apples. '.repeat(12)
const cleared: number[] = []
const kept: number[] = []
for (let i = 0; i < 10; i++) {
  const prompt = `${SHARED}Then question ${i} was`
  cleared.push((await directRun({ prompt, maxTokens: 4, clear: true })).ttftMs)
  kept.push((await rpcRun({ prompt, maxTokens: 4 })).ttftMs)
}
const prefixTokens = model.tokenize(SHARED).length
console.log(`shared prefix of ${prefixTokens} tokens, 10 prompts that differ after it: time to first token p50 ` +
  `${median(cleared).toFixed(2)} ms direct on a cleared sequence, ${median(kept).toFixed(2)} ms through the worker ` +
  `(${(median(cleared) / median(kept)).toFixed(1)}x faster)`)
const met = ratios.every(ratio => ratio >= 0.95)
console.log(`goal: >= 95% of direct node-llama-cpp tokens/s in each of ${RUNS} runs — ${ratios.map(x => `${(x * 100).toFixed(1)}%`).join(', ')}: ${met ? 'met' : 'NOT met'}`)

await client.close()
child.kill('SIGTERM')
await new Promise(resolve => child.once('exit', resolve))
await context.dispose()
await model.dispose()
await bootstrap.close()
rmSync(dataDir, { recursive: true, force: true })
