import t from 'tap'
import { createTestMesh } from './helpers/mesh.js'
import { until } from './helpers/until.js'

t.test('nodes find each other by role; late joiners are found; closed nodes drop out', async t => {
  const mesh = await createTestMesh(t)
  const workerA = await mesh.node({ role: 'inference' })
  const gateway = await mesh.node({ role: 'gateway' })

  const first = await gateway.discovery.waitFor('inference')
  t.same(first.map(p => p.id), [workerA.publicKey.toString('hex')], 'finds the one worker')
  t.equal(first[0].health?.role, 'inference', 'probed its health')

  const workerB = await mesh.node({ role: 'inference' })
  const both = await gateway.discovery.waitFor('inference', { count: 2 })
  t.same(new Set(both.map(p => p.id)), new Set([workerA, workerB].map(n => n.publicKey.toString('hex'))), 'a later node is found too')

  t.same(gateway.discovery.peers('auth'), [], 'no peers of a role nobody announced')

  const downs: string[] = []
  gateway.discovery.on('down', peer => downs.push(peer.id))
  await workerA.close()
  await until('the closed node to leave the live peers', () => gateway.discovery.peers('inference').length === 1,
    { on: [[gateway.discovery, 'down'], [gateway.discovery, 'forget']] })
  t.same(gateway.discovery.peers('inference').map(p => p.id), [workerB.publicKey.toString('hex')], 'closed node no longer returned')
  t.ok(downs.includes(workerA.publicKey.toString('hex')) || !gateway.discovery.known('inference').some(p => p.id === workerA.publicKey.toString('hex')),
    'closed node reported down or forgotten')
})

t.test('network name and secret separate meshes on one DHT', async t => {
  const mesh = await createTestMesh(t)
  await mesh.node({ role: 'auth', network: { name: 'test', secret: 's3cret' } })
  const outsider = await mesh.node({ role: 'gateway', network: { name: 'test' } })
  const insider = await mesh.node({ role: 'gateway', network: { name: 'test', secret: 's3cret' } })
  t.equal((await insider.discovery.waitFor('auth')).length, 1, 'same secret: found')
  t.same(await outsider.discovery.refresh('auth'), [], 'no secret: not found')
})

t.test('the devnet bootstrap on 127.0.0.1 carries a mesh', async t => {
  const { startLocalBootstrap } = await import('../shared/mesh/bootstrap.js')
  const { MeshNode } = await import('../shared/mesh/mesh-node.js')
  const local = await startLocalBootstrap()
  t.equal(local.bootstrap[0].host, '127.0.0.1')
  const nodes = [
    new MeshNode({ role: 'auth', dataDir: t.testdir({ a: {}, b: {} }) + '/a', network: { name: 'devnet' }, bootstrap: local.bootstrap }),
    new MeshNode({ role: 'web', dataDir: t.testdirName + '/b', network: { name: 'devnet' }, bootstrap: local.bootstrap })
  ]
  t.teardown(async () => {
    for (const node of nodes) await node.close()
    await local.close()
  })
  await Promise.all(nodes.map(n => n.open()))
  const found = await nodes[1].discovery.waitFor('auth')
  t.equal(found[0].id, nodes[0].publicKey.toString('hex'))
})
