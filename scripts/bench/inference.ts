// npm run bench:inference — stories260K tokens/s and time to first token: node-llama-cpp called directly
// (in this process) vs through a worker's inference.run RPC (the worker in a child process, found by
// discovery on a local bootstrap, called with a MeshClient). Rounds alternate so both see the same machine.
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { getLlama, LlamaCompletion } from 'node-llama-cpp'
import { startLocalBootstrap } from '../../shared/mesh/bootstrap.js'
import { MeshClient } from '../../shared/mesh/mesh-client.js'
import { inferenceRun } from '../../shared/schemas/inference.js'
import { BUNDLED_MODEL } from '../../services/inference/backends/index.js'

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10)
const MAX_TOKENS = Number(process.env.BENCH_MAX_TOKENS ?? 256)
const PROMPT = 'Once upon a time'
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..')

interface Run { tokens: number, seconds: number, ttftMs: number }

const llama = await getLlama({ gpu: false, build: 'never' })
const model = await llama.loadModel({ modelPath: BUNDLED_MODEL })
const context = await model.createContext({ contextSize: 2048, threads: 1 })
const sequence = context.getSequence()

async function directRun (): Promise<Run> {
  await sequence.clearHistory()
  const completion = new LlamaCompletion({ contextSequence: sequence })
  const started = performance.now()
  let ttftMs = -1
  let tokens = 0
  await completion.generateCompletion(PROMPT, {
    maxTokens: MAX_TOKENS,
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
const child = spawn(process.execPath, ['--import=tsx', join(root, 'services', 'inference', 'main.ts'),
  '--bootstrap', boot, '--network', 'bench-inference', '--data-dir', dataDir, '--log-level', 'warn',
  '--llama-model', BUNDLED_MODEL, '--llama-threads', '1', '--no-cache', '--max-tokens', String(MAX_TOKENS)], { stdio: ['ignore', 'inherit', 'inherit'] })
const client = new MeshClient({ network: { name: 'bench-inference' }, bootstrap: bootstrap.bootstrap, refreshIntervalMs: 500 })
const [peer] = await client.discovery.waitFor('inference', { timeoutMs: 60_000 })
const worker = client.client(peer.publicKey)

async function rpcRun (): Promise<Run> {
  const started = performance.now()
  let ttftMs = -1
  const stream = worker.stream(inferenceRun, { model: 'stories260K', prompt: PROMPT, maxTokens: MAX_TOKENS, temperature: 0 })
  for await (const _ of stream) if (ttftMs < 0) ttftMs = performance.now() - started
  const final = await stream.result
  if (final.cached) throw new Error('the worker answered from its cache: the bench needs --no-cache')
  return { tokens: final.usage.completionTokens, seconds: (performance.now() - started) / 1000, ttftMs }
}

await directRun()
await rpcRun()
const direct: Run[] = []
const rpc: Run[] = []
for (let i = 0; i < ROUNDS; i++) {
  direct.push(await directRun())
  rpc.push(await rpcRun())
}

const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]
const summary = (runs: Run[]): { tps: number, ttft: number, tokens: number } => ({
  tps: runs.reduce((n, r) => n + r.tokens, 0) / runs.reduce((n, r) => n + r.seconds, 0),
  ttft: median(runs.map(r => r.ttftMs)),
  tokens: runs.reduce((n, r) => n + r.tokens, 0)
})
const d = summary(direct)
const r = summary(rpc)
console.log(`bench:inference — stories260K, "${PROMPT}", greedy, ${MAX_TOKENS} tokens, ${ROUNDS} alternating rounds, 1 thread`)
console.log(`  node-llama-cpp direct        ${d.tps.toFixed(0).padStart(6)} tokens/s  time to first token p50 ${d.ttft.toFixed(2)} ms  (${d.tokens} tokens)`)
console.log(`  worker RPC, other process    ${r.tps.toFixed(0).padStart(6)} tokens/s  time to first token p50 ${r.ttft.toFixed(2)} ms  (${r.tokens} tokens)`)
console.log(`  -> the worker keeps ${(100 * r.tps / d.tps).toFixed(1)}% of direct throughput (goal >= 95%); first token +${(r.ttft - d.ttft).toFixed(2)} ms`)

await client.close()
child.kill('SIGTERM')
await new Promise(resolve => child.once('exit', resolve))
await context.dispose()
await model.dispose()
await bootstrap.close()
rmSync(dataDir, { recursive: true, force: true })
