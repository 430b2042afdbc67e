import t from 'tap'
import { mkdtempSync, rmSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MeshNode } from '../shared/mesh/mesh-node.js'
import { LOCAL_READ, waitForLength } from '../shared/store/bees.js'
import { createDht } from '../shared/mesh/dht.js'
import { createTestMesh } from './helpers/mesh.js'

t.test('a bee written by A is read on B; A restarts with the same identity and data', async t => {
  const mesh = await createTestMesh(t)
  const dataDir = mesh.dir('writer')
  const writerOpts = { role: 'auth' as const, dataDir, network: mesh.network, bootstrap: mesh.bootstrap }

  let writer = await new MeshNode(writerOpts).open()
  const identity = writer.publicKey.toString('hex')
  const bee = await writer.ownBee<{ n: number }>('things')
  const batch = bee.batch()
  for (let n = 0; n < 50; n++) await batch.put(`thing/${String(n).padStart(3, '0')}`, { n })
  await batch.flush()
  const beeKey = bee.key

  const reader = await mesh.node({ role: 'gateway' })
  const replica = await reader.followBee<{ n: number }>(beeKey)
  await waitForLength(replica.core, bee.core.length, 10_000)
  t.same((await replica.get('thing/007', LOCAL_READ))?.value, { n: 7 }, 'replicated entry')
  let count = 0
  for await (const _ of replica.createReadStream({ gte: 'thing/', lt: 'thing0' })) count++
  t.equal(count, 50, 'every entry replicated')

  await bee.put('thing/live', { n: -1 })
  await waitForLength(replica.core, bee.core.length, 10_000)
  t.same((await replica.get('thing/live', LOCAL_READ))?.value, { n: -1 }, 'live update arrives')

  await writer.close()
  t.same((await replica.get('thing/live', LOCAL_READ))?.value, { n: -1 }, 'replica answers while the writer is down')

  writer = await new MeshNode(writerOpts).open()
  t.teardown(() => writer.close())
  t.equal(writer.publicKey.toString('hex'), identity, 'same identity after restart')
  const reopened = await writer.ownBee<{ n: number }>('things')
  t.ok(reopened.key.equals(beeKey), 'same bee key')
  t.same((await reopened.get('thing/049'))?.value, { n: 49 }, 'data kept')
})

t.test('the DHT factory refuses to run without a bootstrap list', async t => {
  const dir = mkdtempSync(join(tmpdir(), 'hyperinfer-nobootstrap-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const tempDir = (): string => dir
  t.throws(() => createDht({} as never), { code: 'INVALID_ARGUMENT', message: /bootstrap/ })
  t.throws(() => createDht(undefined as never), { code: 'INVALID_ARGUMENT' })
  t.throws(() => createDht({ bootstrap: undefined } as never), { code: 'INVALID_ARGUMENT' })
  t.throws(() => createDht({ bootstrap: ['nonsense'] }), { code: 'INVALID_ARGUMENT' })
  const empty = createDht({ bootstrap: [] })
  await empty.destroy()
  const local = createDht({ bootstrap: ['127.0.0.1:49737'] })
  await local.ready()
  t.equal(local.address().host, '127.0.0.1', 'a loopback mesh binds loopback only')
  await local.destroy()
  t.pass('an explicit empty list is accepted')
  const node = new MeshNode({ role: 'auth', dataDir: tempDir(), network: { name: 'x' } })
  await t.rejects(node.open(), { code: 'INVALID_ARGUMENT' }, 'a node without bootstrap does not open')
  await node.close()
})

/** A DHT, swarm or RPC built by hand instead of through shared/mesh/dht.ts's factories. */
function buildsItsOwnDht (source: string): boolean {
  return /new (Hyperswarm|HyperDHT|DHT|RPC)\(/.test(source)
}

t.test('no source file builds a DHT, swarm or RPC outside shared/mesh', async t => {
  const offenders: string[] = []
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name === 'node_modules' || name.startsWith('.')) continue
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (/\.(ts|js|mjs)$/.test(name) && buildsItsOwnDht(readFileSync(path, 'utf8'))) offenders.push(path)
    }
  }
  for (const dir of ['services', 'client-cli', 'scripts', 'shared']) walk(dir)
  t.same(offenders.filter(p => !p.startsWith(join('shared', 'mesh'))), [])
})
