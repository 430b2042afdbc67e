import t from 'tap'
import type RPC from '@hyperswarm/rpc'
import { ERROR_CODES } from '../shared/errors.js'
import type { MeshNode } from '../shared/mesh/mesh-node.js'
import * as api from '../shared/schemas/auth.js'
import { health } from '../shared/schemas/mesh.js'
import { createAuthNode } from '../services/auth/role.js'
import { createTestMesh } from './helpers/mesh.js'

const PER_METHOD = 1000

/** A small seeded PRNG so a failure can be replayed. */
function prng (seed: number): () => number {
  return () => {
    seed = (seed + 0x6D2B79F5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

function generator (seed: number): (fields: string[]) => Buffer {
  const rand = prng(seed)
  const int = (n: number): number => Math.floor(rand() * n)
  const pick = <T>(items: T[]): T => items[int(items.length)]
  const hugeString = (): string => 'x'.repeat(1_000 + int(40_000))
  const wrongValue = (): unknown => pick<() => unknown>([
    () => int(1e9) - 5e8,
    () => rand() < 0.5,
    () => null,
    () => [1, 'two', { three: 3 }],
    () => ({ nested: { deep: [null] } }),
    () => '',
    () => 'é\u0000\ud800' + 'z'.repeat(int(300)),
    hugeString,
    () => -0.5,
    () => 'a'.repeat(int(5000))
  ])()
  const body = (fields: string[]): Record<string, unknown> => {
    const b: Record<string, unknown> = {}
    for (const field of fields) if (rand() < 0.6) b[field] = wrongValue()
    // an unknown field makes every object invalid, whatever else came out
    b[pick(['extra', '__proto__x', 'constructor', 'admin', 'role'])] = wrongValue()
    return b
  }
  return fields => {
    switch (int(6)) {
      case 0: return Buffer.from(Array.from({ length: int(2000) }, () => int(256)))
      case 1: return Buffer.from(pick(['{', '{"b":', '[1,2', 'null', '"b"', '{"b":{}} trailing', '\u0000', '']))
      case 2: return Buffer.from(JSON.stringify({ b: wrongValue() === null ? 'not an object' : [wrongValue()] }))
      case 3: return Buffer.from(JSON.stringify(pick([{}, { body: body(fields) }, [body(fields)], 42])))
      case 4: return Buffer.from(JSON.stringify({ b: { ...Object.fromEntries(fields.map(f => [f, hugeString()])), junk: 1 } }))
      default: return Buffer.from(JSON.stringify({ b: body(fields) }))
    }
  }
}

function fieldsOf (def: { request: unknown }): string[] {
  const shape = (def.request as { shape?: Record<string, unknown> }).shape
  return shape ? Object.keys(shape) : []
}

t.test('1,000 malformed payloads to each auth method: each gets a coded error, the node stays up', async t => {
  const mesh = await createTestMesh(t)
  const auth = await createAuthNode({ dataDir: mesh.dir('auth'), network: mesh.network, bootstrap: mesh.bootstrap, config: { scrypt: { N: 1024, r: 8, p: 1 } } })
  mesh.closeLater(() => auth.close())
  const caller = await mesh.node({ role: 'gateway', announce: false })
  // auth.touchKeys is for approved gateways only: approve this one so its payloads reach validation.
  await auth.store.setNode('gateway', caller.publicKey.toString('hex'), true, 'test')
  // raw bytes only go through the node's own @hyperswarm/rpc (PeerClient always sends valid JSON)
  const rpc = (caller as unknown as { rpc: RPC }).rpc
  const raw = rpc.connect(auth.node.publicKey, { keyPair: rpc.defaultKeyPair })
  t.teardown(() => raw.destroy())

  const codes = new Map<string, number>()
  let answered = 0
  let uncoded = 0
  for (const [index, def] of api.AUTH_METHODS.entries()) {
    const next = generator(1000 + index)
    const fields = fieldsOf(def)
    for (let sent = 0; sent < PER_METHOD; sent += 50) {
      const payloads = Array.from({ length: 50 }, () => next(fields))
      const replies = await Promise.all(payloads.map(payload => raw.request(def.name, payload, { timeout: 10_000 })))
      for (const [i, reply] of replies.entries()) {
        answered++
        const parsed = JSON.parse(reply.toString('utf8'))
        if (parsed.ok !== false || !(ERROR_CODES as readonly string[]).includes(parsed.e?.code)) {
          uncoded++
          continue
        }
        codes.set(parsed.e.code, (codes.get(parsed.e.code) ?? 0) + 1)
      }
    }
  }
  t.equal(answered, api.AUTH_METHODS.length * PER_METHOD, 'every payload was answered')
  t.equal(uncoded, 0, 'every answer is a coded error')
  t.same([...codes.keys()].sort(), ['INVALID_ARGUMENT', 'PAYLOAD_TOO_LARGE'], 'rejected as invalid or too large, empty frames included')
  t.comment(JSON.stringify(Object.fromEntries(codes)))

  const client = caller.client(auth.node.publicKey)
  t.equal((await client.call(health, {})).role, 'auth', 'the node is still up')
  t.equal((await client.call(api.register, { username: 'after', email: 'after@example.com', password: 'still works' })).username, 'after')
  t.equal((await client.call(api.adminListUsers, { token: 'x' }).catch(err => err)).code, 'UNAUTHENTICATED')
})
