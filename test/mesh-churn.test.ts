import t from 'tap'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { createPlatform, untilServed, type Platform } from './helpers/platform.js'
import { spawnRole } from './helpers/processes.js'
import { until } from './helpers/until.js'

// Routing on churn does not depend on the backend: a fake OpenAI upstream starts in milliseconds
// where loading llama.cpp (and its binding self-test, a forked process) takes seconds per process.
const MODEL = 'gpt-fake'

async function fakeUpstream (platform: Platform): Promise<string> {
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const fake = await startFakeOpenAI()
  platform.mesh.closeLater(() => fake.close())
  return `${fake.url}/v1`
}

t.test('graceful worker stop: the gateway stops routing to it within 1 s', async t => {
  const platform = await createPlatform(t)
  const worker = await platform.worker({ openaiBaseUrl: await fakeUpstream(platform), openaiModels: [MODEL] })
  await untilServed(platform.gateway, MODEL)
  const id = worker.publicKey.toString('hex')
  t.ok(platform.gateway.pool.candidates(MODEL).some(s => s.peer.id === id), 'routed before the stop')
  const closing = worker.close()
  await until('gateway drops the stopping worker', () => !platform.gateway.pool.candidates(MODEL).some(s => s.peer.id === id), { timeoutMs: 1_000, everyMs: 20, on: [[platform.gateway.pool, 'workers']] })
  t.pass('dropped within 1 s of the stop starting')
  await closing
})

t.test('kill -9 of a worker: the gateway stops routing to it within 5 s', async t => {
  const platform = await createPlatform(t)
  const proc = spawnRole('inference', {
    dataDir: platform.mesh.dir('worker9'),
    network: platform.mesh.network.name,
    bootstrap: platform.mesh.bootstrap,
    args: ['--openai-base-url', await fakeUpstream(platform), '--openai-model', MODEL],
    env: { OPENAI_API_KEY: 'sk-test' }
  })
  t.teardown(() => proc.kill9())
  await untilServed(platform.gateway, MODEL, 60_000)
  await proc.kill9()
  await until('gateway drops the killed worker', () => platform.gateway.pool.candidates(MODEL).length === 0, { timeoutMs: 5_000, everyMs: 20, on: [[platform.gateway.pool, 'workers']] })
  t.pass('dropped within 5 s of SIGKILL')
})

t.test('a new worker is routed within 2 s of its approval, nothing restarted', async t => {
  const platform = await createPlatform(t, { auth: { autoApproveWorkers: false } })
  const worker = await platform.worker({ openaiBaseUrl: await fakeUpstream(platform), openaiModels: [MODEL] })
  const id = worker.publicKey.toString('hex')
  await until('gateway sees the unapproved worker', () => platform.gateway.pool.unapproved().some(peer => peer.id === id), { on: [[platform.gateway.pool, 'room']] })
  t.equal(platform.gateway.pool.candidates(MODEL).length, 0, 'not routed before approval')
  await platform.auth.store.setWorker(id, true, 'test')
  await until('gateway routes the approved worker', () => platform.gateway.pool.candidates(MODEL).some(s => s.peer.id === id), { timeoutMs: 2_000, everyMs: 20 })
  t.pass('routed within 2 s of approval')
})
