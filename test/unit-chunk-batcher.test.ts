import t from 'tap'
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises'
import { ChunkBatcher } from '../shared/mesh/chunk-batcher.js'
import type { ChunkEnvelope } from '../shared/mesh/wire.js'

t.test('chunks yielded in one turn of the event loop leave in one frame, in order', async t => {
  const frames: ChunkEnvelope[] = []
  const batcher = new ChunkBatcher(7, frame => { frames.push(frame) }, 0)
  batcher.add('a')
  batcher.add('b')
  batcher.add('c')
  t.same(frames, [], 'nothing is sent before the turn ends')
  await nextTurn()
  t.same(frames, [{ s: 7, cs: ['a', 'b', 'c'] }])
  batcher.add('d')
  await nextTurn()
  t.same(frames[1], { s: 7, c: 'd' }, 'a lone chunk goes as it is')
})

t.test('what is unsent when the stream ends is taken for the final response, and never sent twice', async t => {
  const frames: ChunkEnvelope[] = []
  const batcher = new ChunkBatcher(1, frame => { frames.push(frame) })
  batcher.add(1)
  batcher.add(2)
  t.same(batcher.take(), [1, 2])
  await nextTurn()
  t.same(frames, [], 'the scheduled flush finds nothing left')
  t.same(batcher.take(), [])
})

t.test('a fast producer is cut into frames of at most 256 chunks', async t => {
  const frames: ChunkEnvelope[] = []
  const batcher = new ChunkBatcher(1, frame => { frames.push(frame) })
  for (let i = 0; i < 600; i++) batcher.add(i)
  await nextTurn()
  t.same(frames.map(f => f.cs?.length ?? 1), [256, 256, 88])
  t.same(frames.flatMap(f => f.cs ?? [f.c]), Array.from({ length: 600 }, (_, i) => i), 'every chunk once, in order')
})

t.test('after a frame, chunks wait out the interval, then leave together; the end of the stream takes what waits', async t => {
  const frames: unknown[][] = []
  const batcher = new ChunkBatcher(1, frame => { frames.push(frame.cs ?? [frame.c]) }, 60_000)
  batcher.add(0)
  await nextTurn()
  t.same(frames, [[0]], 'the first chunk leaves at the end of its turn')
  for (let i = 1; i <= 5; i++) {
    batcher.add(i)
    await nextTurn()
  }
  t.same(frames, [[0]], 'chunks that follow within the interval wait for it')
  t.same(batcher.take(), [1, 2, 3, 4, 5], 'the end of the stream takes them for the final response')
  await nextTurn()
  t.same(frames, [[0]], 'and nothing is sent after it')
})

t.test('chunks held by the interval are sent in one frame when it has passed', async t => {
  const frames: unknown[][] = []
  const batcher = new ChunkBatcher(1, frame => { frames.push(frame.cs ?? [frame.c]) }, 20)
  batcher.add('a')
  await nextTurn()
  batcher.add('b')
  batcher.add('c')
  while (frames.length < 2) await sleep(5)
  t.same(frames, [['a'], ['b', 'c']])
})
