/**
 * Reproduces the "first-dial stall": a fresh process's first connection to a node on a loopback
 * testnet. One server node listens; N fresh client processes (or fresh in-process DHTs with
 * --in-process) each time their first connect and first request, then a redial.
 *
 *   node --import=tsx scripts/repro/first-dial.ts [--runs 20] [--in-process] [--parallel 1]
 *
 * Run it under the offline wrapper. Prints one line per run and the distribution.
 *
 * Cause (traced with logging in hyperdht 6.34.0; holepunchto/hyperdht#304): a firewalled server
 * answers the handshake with a holepunch offer, and a client at the server's own address races a
 * LAN shortcut (ping the server's local address, connect there) against a holepunch round through
 * a relay (lib/connect.js holepunch()). When the round reaches the server first, its puncher's NAT
 * analysis is inconclusive on loopback, so it aborts (lib/server.js _onpeerholepunch -> _abort),
 * and the abort destroys the raw stream the shortcut then connects to (onabort ->
 * rawStream.destroy()). The client's packets match no stream until UDX gives up (~13 s, ETIMEDOUT).
 * Measured: 14 of 20 first dials stalled (5 of the 6 others' redials too); with every loopback DHT
 * created firewalled: false, 0 of 20 (median 81 ms) — not kept, see shared/mesh/dht.ts.
 */
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { startTestnet } from '../../shared/mesh/bootstrap.js'
import type RPC from '@hyperswarm/rpc'
import { createDht, createRpc, formatBootstrap, parseBootstrapNode } from '../../shared/mesh/dht.js'

const REQUEST_TIMEOUT_MS = 20_000
const CHILD_TIMEOUT_MS = 60_000

interface Dial { openMs: number | null, firstMs: number | null, redialMs: number | null, error?: string, streamError?: string }

function arg (name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`)
  return at >= 0 && process.argv[at + 1] ? process.argv[at + 1] : fallback
}

/** One fresh DHT: time to 'open', to the first answer, then a second connection's answer. */
async function dialOnce (bootstrap: string[], serverKey: Buffer): Promise<Dial> {
  const dht = createDht({ bootstrap: bootstrap.map(parseBootstrapNode) })
  const rpc = createRpc(dht)
  const started = Date.now()
  let openMs: number | null = null
  let firstMs: number | null = null
  let streamError: string | undefined
  try {
    const client = rpc.connect(serverKey)
    client.on('open', () => { openMs = Date.now() - started })
    streamOf(client)?.on('error', (err: Error & { code?: string }) => { streamError = `${Date.now() - started} ms ${err.code ?? err.message}` })
    await client.request('ping', Buffer.from('x'), { timeout: REQUEST_TIMEOUT_MS })
    firstMs = Date.now() - started
    client.destroy()
    const again = Date.now()
    const second = rpc.connect(serverKey)
    await second.request('ping', Buffer.from('x'), { timeout: REQUEST_TIMEOUT_MS })
    const redialMs = Date.now() - again
    second.destroy()
    return { openMs, firstMs, redialMs }
  } catch (err) {
    return { openMs, firstMs, redialMs: null, error: (err as Error).message, streamError }
  } finally {
    await rpc.destroy()
    await dht.destroy()
  }
}

/** The client's underlying secret stream, whose error says why a connection failed (rpc hides it). */
function streamOf (client: RPC.Client): NodeJS.EventEmitter | undefined {
  return (client as unknown as { _stream?: NodeJS.EventEmitter })._stream
}

function dialInChild (bootstrap: string[], serverKey: Buffer): Promise<Dial> {
  const self = fileURLToPath(import.meta.url)
  const child = spawn(process.execPath, ['--import=tsx', self, '--child', bootstrap.join(','), serverKey.toString('hex')], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: process.env
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const kill = setTimeout(() => { child.kill('SIGKILL') }, CHILD_TIMEOUT_MS)
  return new Promise(resolve => {
    child.on('close', () => {
      clearTimeout(kill)
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Dial)
      } catch {
        resolve({ openMs: null, firstMs: null, redialMs: null, error: `child printed ${JSON.stringify(out.slice(-200))}` })
      }
    })
  })
}

function summarize (dials: Dial[]): string {
  const first = dials.map(d => d.firstMs ?? Infinity).sort((a, b) => a - b)
  const count = (min: number): number => first.filter(ms => ms > min).length
  const median = first[Math.floor(first.length / 2)]
  return `runs ${dials.length}: first request median ${median} ms, max ${first[first.length - 1]} ms; ` +
    `>1 s: ${count(1_000)}, >5 s: ${count(5_000)}, failed: ${dials.filter(d => d.error).length}`
}

async function main (): Promise<void> {
  if (process.argv[2] === '--child') {
    const dial = await dialOnce(process.argv[3].split(','), Buffer.from(process.argv[4], 'hex'))
    process.stdout.write(JSON.stringify(dial) + '\n')
    return
  }
  const runs = Number(arg('runs', '20'))
  const parallel = Number(arg('parallel', '1'))
  const inProcess = process.argv.includes('--in-process')
  const testnet = await startTestnet(3)
  const bootstrap = formatBootstrap(testnet.bootstrap)
  const dht = createDht({ bootstrap: testnet.bootstrap })
  const rpc = createRpc(dht)
  const server = rpc.createServer()
  server.respond('ping', (value: Buffer) => value)
  await server.listen()
  const dials: Dial[] = []
  for (let i = 0; i < runs; i += parallel) {
    const batch = Array.from({ length: Math.min(parallel, runs - i) }, () =>
      inProcess ? dialOnce(bootstrap, server.publicKey) : dialInChild(bootstrap, server.publicKey))
    for (const dial of await Promise.all(batch)) {
      dials.push(dial)
      console.log(JSON.stringify(dial))
    }
  }
  console.log(summarize(dials))
  await rpc.destroy()
  await dht.destroy()
  await testnet.close()
}

await main()
