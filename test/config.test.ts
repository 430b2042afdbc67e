import t from 'tap'
import { loadConfig } from '../shared/config/load-config.js'
import { resolveMesh, writeDevnetInfo } from '../shared/config/network.js'

t.test('files, then env, then flags', async t => {
  const home = t.testdir()
  const base = loadConfig({ env: { HYPERINFER_HOME: home } })
  t.equal(base.network.name, 'devnet')
  t.equal(base.home, home)
  const fromEnv = loadConfig({ env: { HYPERINFER_HOME: home, HYPERINFER_NETWORK: 'lab', HYPERINFER_BOOTSTRAP: '127.0.0.1:1000, 127.0.0.1:1001' } })
  t.equal(fromEnv.network.name, 'lab')
  t.same(fromEnv.network.bootstrap, ['127.0.0.1:1000', '127.0.0.1:1001'])
  const fromFlags = loadConfig({ env: { HYPERINFER_HOME: home, HYPERINFER_NETWORK: 'lab' }, flags: { 'network.name': 'flagged' } })
  t.equal(fromFlags.network.name, 'flagged', 'flags win over env')
})

t.test('bad values are named with the reason', async t => {
  t.throws(() => loadConfig({ env: { LOG_LEVEL: 'loud' } }), { code: 'INVALID_ARGUMENT', message: /logLevel/ })
  t.throws(() => loadConfig({ env: { HYPERINFER_PUBLIC_NETWORK: 'maybe' } }), { code: 'INVALID_ARGUMENT', message: /HYPERINFER_PUBLIC_NETWORK/ })
  t.throws(() => loadConfig({ flags: { 'network.name': '' } }), { code: 'INVALID_ARGUMENT', message: /network\.name/ })
  t.throws(() => loadConfig({ flags: { 'network.colour': 'red' } }), { code: 'INVALID_ARGUMENT', message: /network/ }, 'unknown keys rejected')
})

t.test('the mesh is found from config or the devnet file, never by default', async t => {
  const home = t.testdir()
  t.throws(() => resolveMesh(loadConfig({ env: { HYPERINFER_HOME: home } })), { code: 'UNAVAILABLE', message: /npm start/ })
  writeDevnetInfo(home, { network: 'devnet', bootstrap: ['127.0.0.1:4000'], pid: 1, startedAt: new Date().toISOString() })
  t.same(resolveMesh(loadConfig({ env: { HYPERINFER_HOME: home } })).bootstrap, [{ host: '127.0.0.1', port: 4000 }])
  t.same(resolveMesh(loadConfig({ env: { HYPERINFER_HOME: home, HYPERINFER_BOOTSTRAP: '127.0.0.1:5000' } })).bootstrap, [{ host: '127.0.0.1', port: 5000 }])
  t.equal(resolveMesh(loadConfig({ env: { HYPERINFER_HOME: home, HYPERINFER_PUBLIC_NETWORK: 'true' } })).publicNetwork, true)
})
