import t from 'tap'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { infer } from '../shared/schemas/gateway.js'
import { createPlatform } from './helpers/platform.js'
import { spawnRole } from './helpers/processes.js'
import { until } from './helpers/until.js'

const MODEL = 'gpt-fake'
const LONG_REPLY = Array.from({ length: 400 }, (_, i) => `word${i} `).join('')

t.test('two workers, one killed mid-load: no hang, clear errors mid-stream, failover before the first token, eviction and return', async t => {
  const platform = await createPlatform(t, { gateway: { workerIdleTimeoutMs: 1_500, workerFirstTokenTimeoutMs: 1_500 } })
  const { gateway, mesh } = platform
  const slow = await startFakeOpenAI({ tokenDelayMs: 20, reply: LONG_REPLY })
  const steady = await startFakeOpenAI({ tokenDelayMs: 20, reply: LONG_REPLY })
  t.teardown(() => Promise.all([slow.close(), steady.close()]))

  const env = { OPENAI_API_KEY: 'sk-test' }
  const victimDir = mesh.dir('victim')
  const workerArgs = (url: string): string[] => ['--openai-base-url', `${url}/v1`, '--openai-model', MODEL, '--concurrency', '64', '--queue', '100']
  const start = (dataDir: string, url: string) => spawnRole('inference', { dataDir, network: mesh.network.name, bootstrap: mesh.bootstrap, args: workerArgs(url), env })
  let victim = start(victimDir, slow.url)
  const survivor = start(mesh.dir('survivor'), steady.url)
  t.teardown(async () => { await victim.stop(); await survivor.stop() })

  const untilWorkers = (n: number): Promise<boolean> => until(`the gateway to route to ${n} worker(s)`, async () => {
    if (gateway.pool.candidates(MODEL).length === n) return true
    await gateway.pool.refresh()
    return gateway.pool.candidates(MODEL).length === n
  }, { timeoutMs: 90_000, on: [[gateway.pool, 'workers'], [gateway.pool, 'room']] })
  await untilWorkers(2)

  const { key } = await platform.user('frank')
  const client = new MeshClient({ network: mesh.network, bootstrap: mesh.bootstrap })
  t.teardown(() => client.close())
  const gw = client.client(gateway.node.publicKey)
  const request = { apiKey: key.key, model: MODEL, prompt: 'go', maxTokens: 300 }

  // Streams under way on the killed worker end with a clear error; the others complete.
  const underWay = Array.from({ length: 6 }, () => gw.stream(infer, request))
  const iterators = underWay.map(s => s[Symbol.asyncIterator]())
  await Promise.all(iterators.map(it => it.next()))
  const drained = iterators.map(async it => { while (!(await it.next()).done); })
  await victim.kill9()
  await Promise.allSettled(drained)
  const outcomes = await Promise.all(underWay.map(s => s.result.then(r => ({ ok: true as const, r }), err => ({ ok: false as const, err }))))
  const failed = outcomes.filter(o => !o.ok)
  t.ok(failed.length > 0 && failed.length < 6, `${failed.length} of 6 streams were on the killed worker`)
  for (const f of failed) t.match(f.err, { code: /UNAVAILABLE|TIMEOUT/, message: /failed after \d+ tokens/ }, 'clear mid-stream error')
  for (const o of outcomes) if (o.ok) t.equal(o.r.usage.completionTokens, 300, 'the other worker finished its streams')
  await untilWorkers(1)

  // It comes back when restarted with its data dir (same identity).
  victim = start(victimDir, slow.url)
  await untilWorkers(2)

  // Requests that had no first token fail over to the other worker.
  slow.mode = { kind: 'hang' }
  const waiting = Array.from({ length: 6 }, () => gw.stream(infer, { ...request, maxTokens: 5 }))
  // Kill while requests hang at the victim without a first token (else this part tests nothing).
  await until('a request to hang at the victim', () => slow.hangingNow > 0, { everyMs: 10 })
  await victim.kill9()
  const late = await Promise.all(waiting.map(s => s.result.then(r => r, err => err)))
  t.ok(late.every(r => !(r instanceof Error)), `all ${late.length} completed: ${late.filter(r => r instanceof Error).map(e => e.message).join('; ')}`)
  t.ok(late.every(r => r.usage.completionTokens === 5), 'answered in full by the survivor')
  t.equal(new Set(late.map(r => r.worker)).size, 1, 'all by one worker')
})
