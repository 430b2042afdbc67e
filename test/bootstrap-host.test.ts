import t from 'tap'
import { startBootstrapHost } from '../shared/mesh/bootstrap-host.js'
import { MeshNode } from '../shared/mesh/mesh-node.js'

const port = (): number => 20_000 + Math.floor(Math.random() * 20_000)

t.test('two bootstrap hosts peered with --peer form one DHT: a node that knows only one finds a node that knows only the other', async t => {
  const first = await startBootstrapHost({ host: '127.0.0.1', port: port() })
  t.teardown(() => first.close())
  t.equal(first.nodes.length, 3, 'three persistent DHT nodes beside the bootstrapper')
  t.same(first.nodes.map(n => n.port), [1, 2, 3].map(i => first.bootstrap[0].port + i), 'on the ports after the bootstrapper')
  const second = await startBootstrapHost({ host: '127.0.0.1', port: port(), nodes: 3, peers: first.bootstrap })
  t.teardown(() => second.close())
  t.same(second.bootstrap.slice(1), first.bootstrap, 'the second host lists the first as well')

  const network = { name: 'redundant', secret: 's' }
  const dirs = t.testdir({ a: {}, b: {}, c: {} })
  const onFirst = new MeshNode({ role: 'metrics', dataDir: `${dirs}/a`, network, bootstrap: [first.bootstrap[0]] })
  t.teardown(() => onFirst.close())
  await onFirst.open()
  const onSecond = new MeshNode({ role: 'web', dataDir: `${dirs}/b`, network, bootstrap: [second.bootstrap[0]], announce: false, refreshIntervalMs: 300 })
  t.teardown(() => onSecond.close())
  await onSecond.open()
  const found = await onSecond.discovery.waitFor('metrics', { timeoutMs: 30_000 })
  t.same(found.map(peer => peer.id), [onFirst.publicKey.toString('hex')], 'found across the two bootstrap hosts')

  // Control: a bootstrap host that was not given --peer is a DHT of its own.
  const alone = await startBootstrapHost({ host: '127.0.0.1', port: port(), nodes: 3 })
  t.teardown(() => alone.close())
  const onAlone = new MeshNode({ role: 'web', dataDir: `${dirs}/c`, network, bootstrap: alone.bootstrap, announce: false })
  t.teardown(() => onAlone.close())
  await onAlone.open()
  await t.rejects(onAlone.discovery.waitFor('metrics', { timeoutMs: 3_000 }), { code: 'UNAVAILABLE' }, 'without --peer the other DHT is out of reach')
})
