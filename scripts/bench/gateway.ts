// npm run bench — end to end: client library -> gateway -> worker (openai backend on a fake
// upstream that answers at once) vs the openai client calling that fake directly, same run.
// Every process on 127.0.0.1; loops bounded by time. Also holds 1,000 concurrent streams.
import type { ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import OpenAI from 'openai'
import { HyperinferClient } from '../../client-cli/client.js'
import { startLocalBootstrap } from '../../shared/mesh/bootstrap.js'
import { formatBootstrap } from '../../shared/mesh/dht.js'
import { MeshClient } from '../../shared/mesh/mesh-client.js'
import type { NodeRole } from '../../shared/mesh/topic.js'
import { createKey, login, register } from '../../shared/schemas/auth.js'
import { inferenceRun } from '../../shared/schemas/inference.js'
import { BenchProcesses, freePort } from './bench-processes.js'
import { formatRow, percentile, runEach, runLoad, runPaired } from './measure.js'
import { queueRow } from './queue-row.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4)
const HELD_STREAMS = Number(process.env.BENCH_STREAMS ?? 1000)
/** Which in-flight rows to run (comma-separated), e.g. BENCH_IN_FLIGHT=1 while profiling. */
const IN_FLIGHT = (process.env.BENCH_IN_FLIGHT ?? '1,64').split(',').map(Number).filter(n => n > 0)
const MODEL = 'gpt-fake'
const NETWORK = 'bench'

const processes = new BenchProcesses('bench', NETWORK)
const home = processes.home
const spawnTs = (script: string, args: string[]): ChildProcess => processes.spawn(script, args)
const startRole = (role: NodeRole, bootstrap: string, args: string[] = []): ChildProcess => processes.startRole(role, bootstrap, args)

function rssMb (pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024
  } catch { return NaN }
}

async function main (): Promise<void> {
  const local = await startLocalBootstrap()
  const bootstrap = formatBootstrap(local.bootstrap).join(',')
  const instantPort = await freePort()
  const slowPort = await freePort()
  spawnTs('scripts/fakes/openai-server', ['--port', String(instantPort)])
  spawnTs('scripts/fakes/openai-server', ['--port', String(slowPort), '--delay', '100'])
  startRole('auth', bootstrap)
  startRole('inference', bootstrap, ['--openai-base-url', `http://127.0.0.1:${instantPort}/v1`, '--openai-model', MODEL, '--concurrency', '2000', '--queue', '2000', '--no-cache'])
  const gateway = startRole('gateway', bootstrap)

  const mesh = new MeshClient({ network: { name: NETWORK }, bootstrap: local.bootstrap })
  const [auth] = await mesh.discovery.waitFor('auth', { timeoutMs: 120_000 })
  const authRpc = mesh.client(auth.publicKey)
  await authRpc.call(register, { username: 'bench', email: 'bench@example.com', password: 'correct horse battery' })
  const { token } = await authRpc.call(login, { login: 'bench', password: 'correct horse battery' })
  const { key } = await authRpc.call(createKey, { token, name: 'bench' })
  const client = new HyperinferClient({ apiKey: key, mesh })
  for (let ready = false; !ready;) {
    ready = await client.infer({ model: MODEL, prompt: 'hi', maxTokens: 1 }).then(() => true, () => false)
    if (!ready) await new Promise(resolve => setTimeout(resolve, 200))
  }

  const direct = new OpenAI({ baseURL: `http://127.0.0.1:${instantPort}/v1`, apiKey: 'sk-bench', maxRetries: 0 })
  const directCall = async (): Promise<void> => {
    const stream = await direct.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, stream: true, stream_options: { include_usage: true } })
    for await (const _ of stream);
  }
  const meshCall = async (): Promise<void> => { await client.infer({ model: MODEL, prompt: 'hi', maxTokens: 4 }) }
  // Where the time goes: the worker alone (its RPC + openai client), without the gateway.
  const [worker] = await mesh.discovery.waitFor('inference')
  const workerRpc = mesh.client(worker.publicKey)
  const workerCall = async (): Promise<void> => { await workerRpc.stream(inferenceRun, { model: MODEL, prompt: 'hi', maxTokens: 4 }).result }

  await runLoad('warm-up', 16, 1, directCall)
  await runLoad('warm-up', 16, 1, meshCall)
  console.log(`bench — ${SECONDS} s per row (1 in flight: the three paths in turn for ${SECONDS * 3} s); fake upstream answers at once (4 tokens, streamed); all on 127.0.0.1`)
  const goals: string[] = []
  const goal = (text: string, met: boolean): void => { goals.push(`  ${met ? 'met    ' : 'NOT met'}  ${text}`) }
  for (const inFlight of IN_FLIGHT) {
    const paths = [
      { label: 'openai client -> fake (direct)', call: directCall },
      { label: 'client -> worker (no gateway)', call: workerCall },
      { label: 'client -> gateway -> worker', call: meshCall }
    ]
    // One in flight: the three paths in turn, so load from elsewhere on the machine hits them alike.
    const [base, alone, ours] = inFlight === 1
      ? await runPaired(paths, SECONDS * 3)
      : await runEach(paths, inFlight, SECONDS)
    console.log(formatRow(base))
    console.log(formatRow(alone))
    console.log(formatRow(ours))
    const added = ours.p50 - base.p50
    const ratio = ours.rps / base.rps
    console.log(`  -> through gateway and worker: ${(ratio * 100).toFixed(1)}% of direct req/s, p50 +${added.toFixed(3)} ms at ${inFlight} in flight; ` +
      `the worker alone adds ${(alone.p50 - base.p50).toFixed(3)} ms, the gateway ${(ours.p50 - alone.p50).toFixed(3)} ms`)
    if (inFlight === 1) goal(`added p50 at 1 in flight through gateway and worker: +${added.toFixed(3)} ms over direct (goal <= 1.0 ms)`, added <= 1.0)
    else goal(`req/s at 64 in flight: ${ours.rps.toFixed(0)} = ${(ratio * 100).toFixed(1)}% of direct ${base.rps.toFixed(0)} (goal >= 90%)`, ratio >= 0.9)
  }

  if (HELD_STREAMS === 0) return await finish(goals, client, mesh, local)
  // A second worker on the slow fake holds streams open: 1,000 at once through one gateway.
  startRole('inference', bootstrap, ['--data-dir', join(home, 'slow-worker'), '--openai-base-url', `http://127.0.0.1:${slowPort}/v1`, '--openai-model', 'gpt-fake-mini', '--concurrency', '2000', '--queue', '2000', '--no-cache'])
  for (let ready = false; !ready;) {
    ready = await client.infer({ model: 'gpt-fake-mini', prompt: 'hi', maxTokens: 1 }).then(() => true, () => false)
    if (!ready) await new Promise(resolve => setTimeout(resolve, 200))
  }
  const rssBefore = rssMb(gateway.pid!)
  let peakRss = rssBefore
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, rssMb(gateway.pid!)) }, 100)
  const started = performance.now()
  const latencies: number[] = []
  let errors = 0
  const errorCodes = new Map<string, number>()
  await Promise.all(Array.from({ length: HELD_STREAMS }, async () => {
    const t0 = performance.now()
    try {
      await client.infer({ model: 'gpt-fake-mini', prompt: 'hi', maxTokens: 20 })
      latencies.push(performance.now() - t0)
    } catch (err) {
      errors++
      const code = (err as { code?: string }).code ?? 'unknown'
      errorCodes.set(code, (errorCodes.get(code) ?? 0) + 1)
      if (errorCodes.get(code) === 1) console.error(`first ${code}: ${(err as Error).message}`)
    }
  }))
  clearInterval(sampler)
  latencies.sort((a, b) => a - b)
  console.log(`${HELD_STREAMS} concurrent streams of 20 tokens at 100 ms/token: ${latencies.length} completed, ${errors} errors, ` +
    `${errors > 0 ? `(${[...errorCodes].map(([code, n]) => `${n} ${code}`).join(', ')}) ` : ''}${((performance.now() - started) / 1000).toFixed(1)} s, p50 ${(percentile(latencies, 0.5) / 1000).toFixed(2)} s, p99 ${(percentile(latencies, 0.99) / 1000).toFixed(2)} s; ` +
    `gateway RSS ${rssBefore.toFixed(0)} MB idle, ${peakRss.toFixed(0)} MB peak`)
  goal(`${HELD_STREAMS} concurrent streams: ${errors} errors, peak gateway RSS ${peakRss.toFixed(0)} MB (goal 0 errors, <= 150 MB)`, errors === 0 && peakRss <= 150)
  // After the held streams, so that row's RSS is not the queue's.
  const ollamaPort = await freePort()
  for (const line of await queueRow({
    client,
    gatewayRss: () => rssMb(gateway.pid!),
    async startOneSlotWorker () {
      spawnTs('scripts/fakes/ollama-server', ['--port', String(ollamaPort)])
      startRole('inference', bootstrap, ['--data-dir', join(home, 'one-slot'), '--ollama-url', `http://127.0.0.1:${ollamaPort}`, '--concurrency', '1', '--queue', '0', '--no-cache'])
    }
  })) console.log(line)
  await finish(goals, client, mesh, local)
}

async function finish (goals: string[], client: HyperinferClient, mesh: MeshClient, local: { close (): Promise<void> }): Promise<void> {
  console.log('goals')
  for (const line of goals) console.log(line)
  await client.close()
  await mesh.close()
  await processes.stop()
  await local.close()
}

main().catch(async err => {
  console.error(err)
  await processes.stop()
  process.exit(1)
})
