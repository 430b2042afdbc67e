import t from 'tap'
import { CapacityBoard } from '../services/inference/capacity.js'
import type { BackendCapacity } from '../shared/schemas/capacity.js'

const COALESCE_MS = 30

function board (): { board: CapacityBoard, load: (running: number) => void } {
  let running = 0
  const snapshot = (): BackendCapacity[] => [{ backend: 'b', models: ['m'], concurrency: 4, running, queued: 0, queueSize: 8 }]
  const capacity = new CapacityBoard(snapshot, COALESCE_MS)
  return { board: capacity, load: n => { running = n; capacity.changed() } }
}

t.test('a long poll hears a change once, with the state at the end of the window', async t => {
  const { board: capacity, load } = board()
  t.teardown(() => { capacity.close() })
  const first = capacity.current()
  const poll = capacity.wait(first.version, 10_000, new AbortController().signal)
  load(1)
  load(2)
  load(3)
  const answer = await poll
  t.equal(answer.version, first.version + 1, 'three changes in one window are one new version')
  t.equal(answer.backends[0].running, 3)
  t.equal((await capacity.wait(first.version, 10_000, new AbortController().signal)).version, answer.version, 'a poll from an older version is answered at once')
})

t.test('a request that starts and ends within the window is not news', async t => {
  const { board: capacity, load } = board()
  t.teardown(() => { capacity.close() })
  const { version } = capacity.current()
  let answered = false
  const controller = new AbortController()
  const poll = capacity.wait(version, 10_000, controller.signal).then(answer => { answered = true; return answer })
  load(1)
  load(0)
  await new Promise(resolve => setTimeout(resolve, COALESCE_MS * 4))
  t.notOk(answered, 'the poll still waits')
  controller.abort()
  t.equal((await poll).version, version, 'the version did not move')
})

t.test('closing lets every poll go', async t => {
  const { board: capacity } = board()
  const { version } = capacity.current()
  const poll = capacity.wait(version, 10_000, new AbortController().signal)
  capacity.close()
  t.equal((await poll).version, version)
})
