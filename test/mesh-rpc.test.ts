import t from 'tap'
import { z } from 'zod'
import { HyperinferError } from '../shared/errors.js'
import { defineMethod, defineStreamMethod } from '../shared/mesh/method.js'
import { streaming, unary } from '../shared/mesh/rpc-server.js'
import { createTestMesh } from './helpers/mesh.js'

const echo = defineMethod('test.echo', {
  request: z.strictObject({ text: z.string().max(100) }),
  response: z.object({ text: z.string() })
})
const fail = defineMethod('test.fail', {
  request: z.strictObject({ kind: z.enum(['coded', 'type', 'range']) }),
  response: z.object({})
})
const slow = defineMethod('test.slow', { request: z.strictObject({}), response: z.object({}), timeoutMs: 200 })
const count = defineStreamMethod('test.count', {
  request: z.strictObject({ to: z.number().int().min(0).max(100_000) }),
  response: z.object({ produced: z.number(), aborted: z.boolean() }),
  chunk: z.object({ n: z.number() })
})

t.test('unary calls, coded errors, validation, timeouts and streams between two nodes', async t => {
  const mesh = await createTestMesh(t)
  let producerStoppedAt = -1
  const server = await mesh.node({
    role: 'auth',
    methods: [
      unary(echo, ({ text }) => ({ text })),
      unary(fail, ({ kind }) => {
        if (kind === 'coded') throw new HyperinferError('FORBIDDEN', 'not yours', { details: { why: 'owner' } })
        if (kind === 'type') throw new TypeError('boom')
        throw new RangeError('out of range')
      }),
      unary(slow, () => new Promise<never>(() => {})),
      streaming(count, async function * ({ to }, ctx) {
        let n = 0
        for (; n < to; n++) {
          if (ctx.signal.aborted) break
          yield { n }
          if (n % 16 === 0) await new Promise(resolve => setImmediate(resolve))
        }
        producerStoppedAt = n
        return { produced: n, aborted: ctx.signal.aborted }
      })
    ]
  })
  const caller = await mesh.node({ role: 'gateway' })
  const client = caller.client(server.publicKey)

  t.same(await client.call(echo, { text: 'hi' }), { text: 'hi' })

  await t.rejects(client.call(fail, { kind: 'coded' }), { code: 'FORBIDDEN', message: 'not yours', details: { why: 'owner' } })
  await t.rejects(client.call(fail, { kind: 'type' }), { code: 'INTERNAL' }, 'TypeError becomes INTERNAL')
  await t.rejects(client.call(fail, { kind: 'range' }), { code: 'INTERNAL' })
  t.same(await client.call(echo, { text: 'still up' }), { text: 'still up' }, 'node keeps serving after handler errors')

  const invalid = await client.call(echo, { text: 5 } as never).catch(err => err)
  t.equal(invalid.code, 'INVALID_ARGUMENT')
  t.match(invalid.details, { fields: [{ path: 'text' }] }, 'names the failing field')
  await t.rejects(client.call(echo, { text: 'x', extra: 1 } as never), { code: 'INVALID_ARGUMENT' }, 'unknown fields rejected')
  await t.rejects(client.call(echo, { text: 'x'.repeat(2_000_000) }), { code: 'PAYLOAD_TOO_LARGE' })
  await t.rejects(client.call(slow, {}), { code: 'TIMEOUT' })

  const stream = client.stream(count, { to: 1000 })
  const got: number[] = []
  for await (const chunk of stream) got.push(chunk.n)
  t.equal(got.length, 1000)
  t.ok(got.every((n, i) => n === i), 'in order')
  t.same(await stream.result, { produced: 1000, aborted: false })

  const aborted = client.stream(count, { to: 100_000 })
  let seen = 0
  for await (const _ of aborted) {
    if (++seen === 10) break
  }
  const final = await aborted.result
  t.equal(final.aborted, true, 'producer saw the abort')
  t.ok(final.produced < 100_000 && producerStoppedAt === final.produced, `producer stopped early (at ${final.produced})`)

  const controller = new AbortController()
  const viaSignal = client.stream(count, { to: 100_000 }, { signal: controller.signal })
  let n = 0
  for await (const _ of viaSignal) if (++n === 10) controller.abort()
  t.equal((await viaSignal.result).aborted, true, 'AbortSignal stops the producer')

  t.same(await client.call(echo, { text: 'after streams' }), { text: 'after streams' })
})

t.test('a silent peer times out, a missing peer is unavailable', async t => {
  const mesh = await createTestMesh(t)
  const server = await mesh.node({ role: 'auth', methods: [unary(slow, () => new Promise<never>(() => {}))] })
  const caller = await mesh.node({ role: 'gateway' })
  await t.rejects(caller.client(server.publicKey).call(slow, {}, { timeoutMs: 300 }), { code: 'TIMEOUT' })
  const stranger = Buffer.alloc(32, 7)
  const err = await caller.client(stranger).call(echo, { text: 'x' }, { timeoutMs: 1500 }).catch(e => e)
  t.ok(['TIMEOUT', 'UNAVAILABLE'].includes(err.code), `unknown peer gives ${err.code}`)
})
