import t from 'tap'
import { within } from './helpers/bounded.js'
import { BUNDLED_MODEL, createPlatform, untilServed } from './helpers/platform.js'
import { spawnRole } from './helpers/processes.js'

const MODEL = 'stories260K'

t.test('graceful worker stop: the gateway stops routing to it within 1 s', async t => {
  const platform = await createPlatform(t)
  const worker = await platform.worker({ llamaModel: BUNDLED_MODEL })
  await untilServed(platform.gateway, MODEL)
  const id = worker.publicKey.toString('hex')
  t.ok(platform.gateway.pool.candidates(MODEL).some(s => s.peer.id === id), 'routed before the stop')
  const closing = worker.close()
  await within('gateway drops the stopping worker', 1_000, () => !platform.gateway.pool.candidates(MODEL).some(s => s.peer.id === id))
  t.pass('dropped within 1 s of the stop starting')
  await closing
})

t.test('kill -9 of a worker: the gateway stops routing to it within 5 s', async t => {
  const platform = await createPlatform(t)
  const proc = spawnRole('inference', {
    dataDir: platform.mesh.dir('worker9'),
    network: platform.mesh.network.name,
    bootstrap: platform.mesh.bootstrap,
    args: ['--llama-model', BUNDLED_MODEL]
  })
  t.teardown(() => proc.kill9())
  await untilServed(platform.gateway, MODEL, 60_000)
  await proc.kill9()
  await within('gateway drops the killed worker', 5_000, () => platform.gateway.pool.candidates(MODEL).length === 0)
  t.pass('dropped within 5 s of SIGKILL')
})

t.test('a new worker is routed within 2 s of its approval, nothing restarted', async t => {
  const platform = await createPlatform(t, { auth: { autoApproveWorkers: false } })
  const worker = await platform.worker({ llamaModel: BUNDLED_MODEL })
  const id = worker.publicKey.toString('hex')
  await within('gateway sees the unapproved worker', 30_000, () => platform.gateway.pool.unapproved().some(peer => peer.id === id))
  t.equal(platform.gateway.pool.candidates(MODEL).length, 0, 'not routed before approval')
  await platform.auth.store.setWorker(id, true, 'test')
  await within('gateway routes the approved worker', 2_000, () => platform.gateway.pool.candidates(MODEL).some(s => s.peer.id === id))
  t.pass('routed within 2 s of approval')
})
