// npm run bench:openai — the official openai SDK in one run, on the same fake upstream: straight to
// the fake, through a plain HTTP reverse proxy (the least any HTTP gateway costs), through the web
// node's /v1, and through `hyperinfer proxy` (over P2P); and the client library over the same mesh.
// Every process on 127.0.0.1; loops bounded by time. Goal: added p50 at most 1 ms at 1 in flight.
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import OpenAI from 'openai'
import { HyperinferClient } from '../../client-cli/client.js'
import { startLocalBootstrap } from '../../shared/mesh/bootstrap.js'
import { formatBootstrap } from '../../shared/mesh/dht.js'
import { MeshClient } from '../../shared/mesh/mesh-client.js'
import type { NodeRole } from '../../shared/mesh/topic.js'
import { adminApproveNode, createKey, login, register } from '../../shared/schemas/auth.js'
import { BenchProcesses, freePort, profiled } from './bench-processes.js'
import { formatRow, runEach, runLoad, runPaired } from './measure.js'

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4)
const MODEL = 'gpt-fake'
const NETWORK = 'bench-openai'
const USER = 'bench'
const PASSWORD = 'correct horse battery'

const processes = new BenchProcesses('bench-openai', NETWORK)
const home = processes.home
const spawnProgram = (script: string, args: string[], profile = false): ChildProcess => processes.spawn(script, args, profile)
const startRole = (role: NodeRole, bootstrap: string, args: string[] = []): ChildProcess => processes.startRole(role, bootstrap, args)

async function until (what: string, check: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!await check().catch(() => false)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

async function main (): Promise<void> {
  const local = await startLocalBootstrap()
  const bootstrap = formatBootstrap(local.bootstrap).join(',')
  const [fakePort, plainPort, webPort, proxyPort] = [await freePort(), await freePort(), await freePort(), await freePort()]
  spawnProgram('scripts/fakes/openai-server', ['--port', String(fakePort)])
  spawnProgram('scripts/bench/plain-proxy', ['--port', String(plainPort), '--target', `http://127.0.0.1:${fakePort}`])
  startRole('auth', bootstrap, ['--admin', USER, '--auto-approve-workers'])
  startRole('inference', bootstrap, ['--openai-base-url', `http://127.0.0.1:${fakePort}/v1`, '--openai-model', MODEL, '--concurrency', '2000', '--queue', '2000', '--no-cache'])
  startRole('gateway', bootstrap)
  startRole('web', bootstrap, ['--port', String(webPort)])

  const mesh = new MeshClient({ network: { name: NETWORK }, bootstrap: local.bootstrap })
  const [auth] = await mesh.discovery.waitFor('auth', { timeoutMs: 120_000 })
  const authRpc = mesh.client(auth.publicKey)
  await authRpc.call(register, { username: USER, email: 'bench@example.com', password: PASSWORD })
  const { token } = await authRpc.call(login, { login: USER, password: PASSWORD })
  const { key } = await authRpc.call(createKey, { token, name: 'bench' })
  const [gateway] = await mesh.discovery.waitFor('gateway', { timeoutMs: 120_000 })
  // the web node sends keys only to gateways the auth node approved
  await authRpc.call(adminApproveNode, { token, role: 'gateway', publicKey: gateway.publicKey.toString('hex') }).catch(() => {})
  spawnProgram('client-cli/main', ['--network', NETWORK, '--bootstrap', bootstrap, 'proxy', '--port', String(proxyPort), '--api-key', key], profiled('proxy'))

  const sdk = (baseURL: string): OpenAI => new OpenAI({ baseURL, apiKey: key, maxRetries: 0 })
  const ways = [
    { label: 'openai SDK -> fake (direct)', client: sdk(`http://127.0.0.1:${fakePort}/v1`) },
    { label: 'openai SDK -> plain HTTP proxy', client: sdk(`http://127.0.0.1:${plainPort}/v1`) },
    { label: 'openai SDK -> web /v1', client: sdk(`http://127.0.0.1:${webPort}/v1`) },
    { label: 'openai SDK -> hyperinfer proxy', client: sdk(`http://127.0.0.1:${proxyPort}/v1`) }
  ]
  const call = (client: OpenAI) => async (): Promise<void> => {
    const stream = await client.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, stream: true, stream_options: { include_usage: true } })
    for await (const _ of stream);
  }
  for (const way of ways) await until(`${way.label} to answer`, async () => { await call(way.client)(); return true })
  for (const way of ways) await runLoad('warm-up', 16, 1, call(way.client))
  // The same mesh path without HTTP (client library -> gateway -> worker): what the translation itself adds is the difference.
  const library = new HyperinferClient({ apiKey: key, mesh })
  const libraryCall = async (): Promise<void> => { await library.infer({ model: MODEL, messages: [{ role: 'user', content: 'hi' }], maxTokens: 4 }) }
  await runLoad('warm-up', 16, 1, libraryCall)

  console.log(`bench:openai — ${SECONDS} s per row (1 in flight: the paths in turn); the fake upstream answers 4 streamed tokens at once; all on 127.0.0.1`)
  const goals: string[] = []
  const paths = [...ways.map(way => ({ label: way.label, call: call(way.client) })), { label: 'client library (no HTTP)', call: libraryCall }]
  for (const inFlight of [1, 64]) {
    // One in flight: the four paths in turn, so load from elsewhere on the machine hits them alike.
    const measured = inFlight === 1 ? await runPaired(paths, SECONDS * paths.length) : await runEach(paths, inFlight, SECONDS)
    for (const row of measured) console.log(formatRow(row))
    const [base, plain, ...through] = measured.slice(0, -1)
    const meshRow = measured[measured.length - 1]
    const plainAdded = plain.p50 - base.p50
    console.log(`  -> ${plain.label}: ${(plain.rps / base.rps * 100).toFixed(1)}% of direct req/s, p50 +${plainAdded.toFixed(3)} ms at ${inFlight} in flight`)
    for (const row of through) {
      const added = row.p50 - base.p50
      console.log(`  -> ${row.label}: ${(row.rps / base.rps * 100).toFixed(1)}% of direct req/s, p50 +${added.toFixed(3)} ms at ${inFlight} in flight: ` +
        `+${(added - plainAdded).toFixed(3)} ms more than a plain HTTP proxy; +${(row.p50 - meshRow.p50).toFixed(3)} ms over the client library on the same mesh`)
      if (inFlight === 1) goals.push(`  ${added <= 1 ? 'met    ' : 'NOT met'}  ${row.label}: added p50 +${added.toFixed(3)} ms at 1 in flight (goal <= 1.0 ms; a plain HTTP proxy adds +${plainAdded.toFixed(3)} ms)`)
    }
  }
  console.log('goals')
  for (const line of goals) console.log(line)
  await library.close()
  await mesh.close()
  await processes.stop()
  await local.close()
}

main().catch(async err => {
  console.error(err)
  await processes.stop()
  process.exit(1)
})
