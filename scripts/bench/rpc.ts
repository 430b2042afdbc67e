// npm run bench:rpc — raw @hyperswarm/rpc echo vs an echo method on MeshNode (envelope, zod
// validation, error mapping, metrics on). Servers run in a child process, clients here; same run.
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { startLocalBootstrap } from '../../shared/mesh/bootstrap.js'
import type { BootstrapNode } from '../../shared/mesh/dht.js'
import { defineMethod } from '../../shared/mesh/method.js'
import { MeshNode } from '../../shared/mesh/mesh-node.js'
import { PeerClient } from '../../shared/mesh/rpc-client.js'
import { unary } from '../../shared/mesh/rpc-server.js'
import { createRawRpc } from '../../shared/mesh/raw-rpc.js'
import { createLogger } from '../../shared/log.js'
import { formatRow, runLoad } from './measure.js'
import { COMPILED } from '../../shared/paths.js'

const echo = defineMethod('bench.echo', {
  request: z.strictObject({ text: z.string().max(1000), n: z.number().int() }),
  response: z.object({ text: z.string(), n: z.number().int() })
})

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)

if (process.argv[2] === 'server') {
  const bootstrap = JSON.parse(process.argv[3]) as BootstrapNode[]
  const raw = createRawRpc(bootstrap)
  const rawServer = raw.rpc.createServer()
  rawServer.respond('echo', (value: Buffer) => value)
  await rawServer.listen()
  const dataDir = mkdtempSync(join(tmpdir(), 'hyperinfer-bench-'))
  const node = await new MeshNode({
    role: 'auth', dataDir, network: { name: 'bench' }, bootstrap, announce: false, log: createLogger('bench', 'warn'),
    methods: [unary(echo, req => req)]
  }).open()
  process.send?.({ raw: rawServer.publicKey.toString('hex'), mesh: node.publicKey.toString('hex') })
  process.on('message', async () => {
    await node.close()
    await raw.rpc.destroy()
    await raw.dht.destroy()
    rmSync(dataDir, { recursive: true, force: true })
    process.exit(0)
  })
} else {
  const bootstrap = await startLocalBootstrap()
  const child = fork(fileURLToPath(import.meta.url), ['server', JSON.stringify(bootstrap.bootstrap)], { execArgv: COMPILED ? [] : ['--import=tsx'] })
  const keys = await new Promise<{ raw: string, mesh: string }>(resolve => child.once('message', m => resolve(m as { raw: string, mesh: string })))

  const client = createRawRpc(bootstrap.bootstrap)
  const rawClient = client.rpc.connect(Buffer.from(keys.raw, 'hex'))
  const meshClient = new PeerClient(client.rpc, Buffer.from(keys.mesh, 'hex'))
  const payload = { text: 'hello hyperinfer', n: 1 }
  const rawBody = Buffer.from(JSON.stringify(payload))
  const rawCall = (): Promise<unknown> => rawClient.request('echo', rawBody, { timeout: 10_000 })
  const meshCall = (): Promise<unknown> => meshClient.call(echo, payload)

  await runLoad('warm-up', 16, 1, rawCall)
  await runLoad('warm-up', 16, 1, meshCall)

  console.log(`bench:rpc — ${SECONDS} s per row, server in a child process, loopback testnet`)
  const rows = []
  for (const inFlight of [1, 64]) {
    const raw = await runLoad('raw @hyperswarm/rpc echo', inFlight, SECONDS, rawCall)
    const mesh = await runLoad('MeshNode echo', inFlight, SECONDS, meshCall)
    console.log(formatRow(raw))
    console.log(formatRow(mesh))
    const ratio = mesh.rps / raw.rps
    console.log(`  -> MeshNode keeps ${(ratio * 100).toFixed(1)}% of raw throughput at ${inFlight} in flight; p50 +${(mesh.p50 - raw.p50).toFixed(3)} ms (goal >= 80%: ${ratio >= 0.8 ? 'met' : 'NOT met'})`)
    rows.push({ inFlight, raw, mesh, ratio })
  }

  rawClient.destroy()
  meshClient.close()
  await client.rpc.destroy()
  await client.dht.destroy()
  child.send('stop')
  await new Promise(resolve => child.once('exit', resolve))
  await bootstrap.close()
}
