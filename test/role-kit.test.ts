import t from 'tap'
import { createDht } from '../shared/mesh/dht.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { roleTopic, type NodeRole } from '../shared/mesh/topic.js'
import { startRole } from '../shared/role/start-role.js'
import { echo } from './fixtures/echo-role/echo.js'
import { echoRole } from './fixtures/echo-role/role.js'
import { createTestMesh } from './helpers/mesh.js'
import { until } from './helpers/until.js'

t.test('a role declared in one folder starts through the kit, announces, answers and closes', async t => {
  const mesh = await createTestMesh(t)
  const started = await startRole(echoRole, { dataDir: mesh.dir('echo'), network: mesh.network, bootstrap: mesh.bootstrap })
  mesh.closeLater(() => started.close())
  t.ok(started.node.isReady, 'ready once announced')

  const client = new MeshClient({ network: mesh.network, bootstrap: mesh.bootstrap })
  mesh.closeLater(() => client.close())
  // Found on its own topic, as a product role would be.
  const topic = roleTopic(mesh.network, echoRole.role as NodeRole)
  const dht = createDht({ bootstrap: mesh.bootstrap })
  mesh.closeLater(() => dht.destroy())
  const found = await until('the echo node is on its topic', async () => {
    for await (const answer of dht.lookup(topic)) {
      for (const peer of answer.peers) if (peer.publicKey.equals(started.node.publicKey)) return true
    }
    return false
  }, { timeoutMs: 20_000, everyMs: 500 })
  t.ok(found, 'announced on the topic of its role')

  const peer = client.client(started.node.publicKey)
  t.same(await peer.call(echo, { text: 'hello' }), { text: 'hello', count: 1 })
  t.same(await peer.call(echo, { text: 'again' }), { text: 'again', count: 2 }, 'one handler serves every call')
  await t.rejects(peer.call(echo, { text: 'x'.repeat(1_001) }), { code: 'INVALID_ARGUMENT' }, 'its schema checks the request')

  await started.close()
  await started.close()
  await t.rejects(client.client(started.node.publicKey).call(echo, { text: 'gone' }, { timeoutMs: 2_000 }), 'closed: no answer')
})
