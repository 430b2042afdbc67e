import t from 'tap'
import { statSync } from 'node:fs'
import { AccountReplica } from '../shared/accounts/replica.js'
import { createAuthNode } from '../services/auth/role.js'
import { lastApiKey, readSession, sessionFile } from '../client-cli/session.js'
import { createTestMesh } from './helpers/mesh.js'
import { runCli, writeTestDevnet } from './helpers/cli.js'

// Each CLI run is a fresh process that bootstraps, discovers the auth node and connects: allow for it.
t.setTimeout(300_000)

t.test('the CLI flow: register, login, keys create/list/revoke/rotate, seen by a replica', async t => {
  const mesh = await createTestMesh(t)
  const auth = await createAuthNode({ dataDir: mesh.dir('auth'), network: mesh.network, bootstrap: mesh.bootstrap, config: { scrypt: { N: 1024, r: 8, p: 1 } } })
  mesh.closeLater(() => auth.close())
  const home = mesh.dir('home')
  const configDir = mesh.dir('config')
  writeTestDevnet(home, mesh.network.name, mesh.bootstrap)
  const env = { HYPERINFER_CONFIG_DIR: configDir }
  const cli = (args: string[], input?: string) => runCli(['--json', ...args], { home, configDir, input })

  const registered = await cli(['register', '--username', 'carol', '--email', 'carol@example.com', '--password-stdin'], 'carol password\n')
  t.equal(registered.code, 0, `register: ${registered.stdout} ${registered.stderr}`)
  t.equal(registered.json().user.username, 'carol')
  t.equal(statSync(sessionFile(env)).mode & 0o777, 0o600, 'session file is private')

  const login = await cli(['login', '--email', 'carol@example.com', '--password-stdin'], 'carol password')
  t.equal(login.code, 0, `login: ${login.stdout} ${login.stderr}`)
  t.equal(readSession(env).username, 'carol')
  const whoami = await cli(['whoami'])
  t.equal(whoami.code, 0, `whoami: ${whoami.stdout} ${whoami.stderr}`)
  t.equal(whoami.json().username, 'carol')
  const wrong = await cli(['login', '--username', 'carol', '--password', 'wrong password'])
  t.equal(wrong.json().error.code, 'UNAUTHENTICATED', 'a failed login answers with a coded error')

  const first = (await cli(['keys', 'create', '--name', 'one'])).json()
  const second = (await cli(['keys', 'create', '--name', 'two'])).json()
  t.match(first.key, /^hi_/)
  t.equal(lastApiKey(env), second.key, 'the last created key is kept for the gateway commands')
  const listed = await cli(['keys', 'list'])
  t.equal(listed.code, 0, `keys list: ${listed.stdout} ${listed.stderr}`)
  const list = listed.json()
  t.same(list.keys.map((k: { name: string }) => k.name).sort(), ['one', 'two'])

  const gateway = await mesh.node({ role: 'gateway', announce: false })
  const replica = await new AccountReplica(gateway).open()
  t.teardown(() => replica.close())
  await replica.waitForSeq(auth.store.accounts.core.length - 1)
  t.equal(replica.lookupKey(first.key)?.live, true)

  const revoked = await cli(['keys', 'revoke', first.id])
  t.equal(revoked.code, 0, revoked.stdout + revoked.stderr)
  const rotated = (await cli(['keys', 'rotate', second.id])).json()
  t.equal(lastApiKey(env), rotated.created.key)
  await replica.waitForSeq(auth.store.accounts.core.length - 1, 1_000)
  t.equal(replica.lookupKey(first.key)?.live, false, 'revoked key rejected by a replica within 1 s')
  t.equal(replica.lookupKey(second.key)?.live, false, 'rotated-away key rejected')
  t.equal(replica.lookupKey(rotated.created.key)?.live, true)

  const human = await runCli(['keys', 'list'], { home, configDir })
  t.match(human.stdout, /revoked/)
  t.notMatch(human.stdout, rotated.created.key, 'a listing never shows a key')

  await cli(['logout'])
  const after = await runCli(['whoami'], { home, configDir })
  t.equal(after.code, 1)
  t.match(after.stderr, /UNAUTHENTICATED.*hyperinfer login/)
  t.equal(lastApiKey(env), rotated.created.key, 'logout keeps the last key')
})
