// npm run bench:rpc — raw @hyperswarm/rpc echo vs an echo method on MeshNode (envelope, zod
// validation, error mapping, metrics on), and the same on a MeshNode that checks its callers
// (a method for approved gateways only, the caller approved). Servers run in a child process,
// clients here; same run.
import { fork } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { z } from 'zod'
import { startLocalBootstrap } from '../../shared/mesh/bootstrap.js'
import type { BootstrapNode } from '../../shared/mesh/dht.js'
import { AccessControl } from '../../shared/mesh/access.js'
import { defineMethod, defineStreamMethod } from '../../shared/mesh/method.js'
import { MeshNode } from '../../shared/mesh/mesh-node.js'
import { PeerClient } from '../../shared/mesh/peer-client.js'
import { streaming, unary } from '../../shared/mesh/rpc-server.js'
import { createRawRpc } from './raw-rpc.js'
import { createLogger } from '../../shared/log.js'
import { formatRow, runLoad } from './measure.js'
import { COMPILED } from '../../shared/paths.js'

const echo = defineMethod('bench.echo', {
  request: z.strictObject({ text: z.string().max(1000), n: z.number().int() }),
  response: z.object({ text: z.string(), n: z.number().int() })
})

const checkedEcho = defineMethod('bench.checkedEcho', {
  request: echo.request,
  response: echo.response,
  callers: ['gateway']
})

/** Four chunks and a final answer: the shape of a short generation, without the generation. */
const echoStream = defineStreamMethod('bench.echoStream', {
  request: echo.request,
  response: z.object({ n: z.number().int() }),
  chunk: z.object({ text: z.string() })
})

const SECONDS = Number(process.env.BENCH_SECONDS ?? 3)

if (process.argv[2] === 'server') {
  const bootstrap = JSON.parse(process.argv[3]) as BootstrapNode[]
  const approvedCaller = process.argv[4]
  const raw = createRawRpc(bootstrap)
  const rawServer = raw.rpc.createServer()
  rawServer.respond('echo', (value: Buffer) => value)
  await rawServer.listen()
  const dataDir = mkdtempSync(join(tmpdir(), 'hyperinfer-bench-'))
  const node = await new MeshNode({
    role: 'auth', dataDir, network: { name: 'bench' }, bootstrap, announce: false, log: createLogger('bench', 'warn'),
    methods: [
      unary(echo, req => req),
      streaming(echoStream, async function * (req) {
        for (let i = 0; i < 4; i++) yield { text: req.text }
        return { n: req.n }
      })
    ]
  }).open()
  // The registry a replica would give: the bench client's key approved as a gateway.
  const registry = { isApproved: (role: string, key: string) => role === 'gateway' && key === approvedCaller, on () {}, off () {} }
  const checkedDir = mkdtempSync(join(tmpdir(), 'hyperinfer-bench-'))
  const checked = await new MeshNode({
    role: 'inference', dataDir: checkedDir, network: { name: 'bench' }, bootstrap, announce: false, log: createLogger('bench', 'warn'),
    access: new AccessControl({ managed: true, registry }),
    methods: [unary(checkedEcho, req => req)]
  }).open()
  process.send?.({ raw: rawServer.publicKey.toString('hex'), mesh: node.publicKey.toString('hex'), checked: checked.publicKey.toString('hex') })
  process.on('message', async () => {
    await checked.close()
    rmSync(checkedDir, { recursive: true, force: true })
    await node.close()
    await raw.rpc.destroy()
    await raw.dht.destroy()
    rmSync(dataDir, { recursive: true, force: true })
    process.exit(0)
  })
} else {
  const bootstrap = await startLocalBootstrap()
  const client = createRawRpc(bootstrap.bootstrap)
  const callerKey = client.rpc.defaultKeyPair.publicKey.toString('hex')
  const child = fork(fileURLToPath(import.meta.url), ['server', JSON.stringify(bootstrap.bootstrap), callerKey], { execArgv: COMPILED ? [] : ['--import=tsx'] })
  const keys = await new Promise<{ raw: string, mesh: string, checked: string }>(resolve => child.once('message', m => resolve(m as { raw: string, mesh: string, checked: string })))

  const rawClient = client.rpc.connect(Buffer.from(keys.raw, 'hex'))
  const meshClient = new PeerClient(client.rpc, Buffer.from(keys.mesh, 'hex'))
  const payload = { text: 'hello hyperinfer', n: 1 }
  const rawBody = Buffer.from(JSON.stringify(payload))
  const rawCall = (): Promise<unknown> => rawClient.request('echo', rawBody, { timeout: 10_000 })
  const meshCall = (): Promise<unknown> => meshClient.call(echo, payload)
  const streamCall = async (): Promise<unknown> => {
    const stream = meshClient.stream(echoStream, payload)
    for await (const _ of stream);
    return await stream.result
  }
  const checkedClient = new PeerClient(client.rpc, Buffer.from(keys.checked, 'hex'))
  const checkedCall = (): Promise<unknown> => checkedClient.call(checkedEcho, payload)

  await runLoad('warm-up', 16, 1, rawCall)
  await runLoad('warm-up', 16, 1, meshCall)
  await runLoad('warm-up', 16, 1, checkedCall)
  await runLoad('warm-up', 16, 1, streamCall)

  console.log(`bench:rpc — ${SECONDS} s per row, server in a child process, loopback testnet`)
  const rows = []
  for (const inFlight of [1, 64]) {
    const raw = await runLoad('raw @hyperswarm/rpc echo', inFlight, SECONDS, rawCall)
    const mesh = await runLoad('MeshNode echo', inFlight, SECONDS, meshCall)
    const checked = await runLoad('MeshNode echo, caller checked', inFlight, SECONDS, checkedCall)
    const streamed = await runLoad('MeshNode stream, 4 chunks', inFlight, SECONDS, streamCall)
    console.log(formatRow(raw))
    console.log(formatRow(mesh))
    console.log(formatRow(checked))
    console.log(formatRow(streamed))
    console.log(`  -> a 4-chunk stream costs p50 +${(streamed.p50 - mesh.p50).toFixed(3)} ms over a unary call at ${inFlight} in flight`)
    const ratio = mesh.rps / raw.rps
    console.log(`  -> MeshNode keeps ${(ratio * 100).toFixed(1)}% of raw throughput at ${inFlight} in flight; p50 +${(mesh.p50 - raw.p50).toFixed(3)} ms (goal >= 80%: ${ratio >= 0.8 ? 'met' : 'NOT met'})`)
    console.log(`  -> with the caller check: ${(checked.rps / mesh.rps * 100).toFixed(1)}% of the unchecked MeshNode's throughput; p50 ${checked.p50 - mesh.p50 >= 0 ? '+' : ''}${(checked.p50 - mesh.p50).toFixed(3)} ms`)
    rows.push({ inFlight, raw, mesh, ratio })
  }

  rawClient.destroy()
  meshClient.close()
  checkedClient.close()
  await client.rpc.destroy()
  await client.dht.destroy()
  child.send('stop')
  await new Promise(resolve => child.once('exit', resolve))
  await bootstrap.close()
}
