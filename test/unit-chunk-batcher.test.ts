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

t.test('a steady producer is cut into frames at most one per interval, every chunk once, in order', async t => {
  const frames: Array<{ at: number, chunks: unknown[] }> = []
  const started = performance.now()
  const batcher = new ChunkBatcher(1, frame => { frames.push({ at: performance.now() - started, chunks: frame.cs ?? [frame.c] }) }, 40)
  batcher.add(0)
  await nextTurn()
  t.same(frames.map(f => f.chunks), [[0]], 'the first chunk leaves at the end of its turn')
  for (let i = 1; i <= 5; i++) {
    batcher.add(i)
    await nextTurn()
  }
  t.equal(frames.length, 1, 'chunks that follow within the interval wait for it')
  await sleep(60)
  t.same(frames.map(f => f.chunks), [[0], [1, 2, 3, 4, 5]], 'then leave together')
  t.ok(frames[1].at - frames[0].at >= 39, 'no sooner than the interval after the frame before')
  batcher.add(6)
  t.same(batcher.take(), [6], 'the end of the stream takes what waits')
  await sleep(60)
  t.equal(frames.length, 2, 'and nothing is sent after it')
})
