import t from 'tap'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { AccountReplica } from '../shared/accounts/replica.js'
import * as api from '../shared/schemas/auth.js'
import { createAuthNode, type AuthNode } from '../services/auth/role.js'
import { createTestMesh, type TestMesh } from './helpers/mesh.js'

const FAST = { scrypt: { N: 1024, r: 8, p: 1 } }

function filesUnder (dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap(entry => {
    const path = join(dir, entry.name)
    return entry.isDirectory() ? filesUnder(path) : entry.isFile() ? [path] : []
  })
}

function occurrences (files: string[], needle: string): string[] {
  const bytes = Buffer.from(needle, 'utf8')
  return files.filter(file => readFileSync(file).includes(bytes))
}

async function startAuth (mesh: TestMesh, dataDir: string): Promise<AuthNode> {
  return createAuthNode({ dataDir, network: mesh.network, bootstrap: mesh.bootstrap, config: FAST })
}

t.test('restart keeps every user and key; a replica answers while the auth node is down; no secret on disk', async t => {
  const mesh = await createTestMesh(t)
  const dataDir = mesh.dir('auth')
  let auth = await startAuth(mesh, dataDir)
  const caller = await mesh.node({ role: 'web', announce: false })
  const gateway = await mesh.node({ role: 'gateway', announce: false })
  let client = caller.client(auth.node.publicKey)

  const users = [
    { username: 'dora', email: 'dora@example.com', password: 'dora-secret-pass-1' },
    { username: 'eve.x', email: 'eve@example.com', password: 'eve-secret-pass-22' }
  ]
  const apiKeys: string[] = []
  for (const user of users) {
    await client.call(api.register, user)
    const { token } = await client.call(api.login, { login: user.username, password: user.password })
    for (const name of ['a', 'b']) apiKeys.push((await client.call(api.createKey, { token, name })).key)
  }

  const replica = await new AccountReplica(gateway).open()
  t.teardown(() => replica.close())
  await replica.waitForSeq(auth.store.accounts.core.length - 1)
  for (const key of apiKeys) t.equal(replica.lookupKey(key)?.live, true)

  await auth.close()
  for (const key of apiKeys) t.equal(replica.lookupKey(key)?.live, true, 'replica answers with the auth node stopped')
  t.equal(replica.lookupKey('hi_' + 'Z'.repeat(43)), null)

  const files = filesUnder(dataDir)
  t.ok(files.length > 0)
  t.ok(occurrences(files, 'dora@example.com').length > 0, 'the scan sees bee contents (emails are stored in clear)')
  for (const user of users) t.same(occurrences(files, user.password), [], `no password of ${user.username} on disk`)
  for (const key of apiKeys) t.same(occurrences(files, key), [], 'no API key on disk')
  t.same(occurrences(filesUnder(gateway.dataDir), apiKeys[0]), [], 'nor on the replica')
  t.equal(statSync(join(dataDir, 'jwt-secret')).mode & 0o777, 0o600, 'the session secret is private')

  auth = await startAuth(mesh, dataDir)
  mesh.closeLater(() => auth.close())
  client = caller.client(auth.node.publicKey)
  t.equal(client.publicKey.toString('hex'), auth.node.publicKey.toString('hex'))
  for (const user of users) {
    const { token, user: me } = await client.call(api.login, { login: user.email, password: user.password })
    t.equal(me.username, user.username, `${user.username} logs in after the restart`)
    t.equal((await client.call(api.listKeys, { token })).keys.length, 2, 'keys intact')
  }
  await t.rejects(client.call(api.register, users[0]), { code: 'CONFLICT' }, 'indexes intact')
})

t.test('failed logins back off per account and client, then per client; other clients are not locked out', async t => {
  const mesh = await createTestMesh(t)
  const auth = await createAuthNode({
    dataDir: mesh.dir('auth'),
    network: mesh.network,
    bootstrap: mesh.bootstrap,
    config: { ...FAST, loginThrottle: { maxFailuresPerUser: 3, maxFailuresPerCaller: 6, maxFailuresPerAccount: 20, baseBackoffMs: 300, maxBackoffMs: 400, windowMs: 60_000 } }
  })
  mesh.closeLater(() => auth.close())
  const caller = await mesh.node({ role: 'web', announce: false })
  const other = await mesh.node({ role: 'web', announce: false })
  const client = caller.client(auth.node.publicKey)
  await client.call(api.register, { username: 'frank', email: 'frank@example.com', password: 'frank password' })

  for (let i = 0; i < 3; i++) await t.rejects(client.call(api.login, { login: 'frank', password: 'nope nope' }), { code: 'UNAUTHENTICATED' })
  const limited = await client.call(api.login, { login: 'frank', password: 'frank password' }).catch(err => err)
  t.equal(limited.code, 'RATE_LIMITED', 'even the right password waits once this client is backing off for the account')
  t.ok(limited.retryAfterMs > 0, 'says when to retry')
  const byEmail = await client.call(api.login, { login: 'FRANK@example.com', password: 'frank password' }).catch(err => err)
  t.equal(byEmail.code, 'RATE_LIMITED', 'by email it is the same account')
  t.ok((await other.client(auth.node.publicKey).call(api.login, { login: 'frank', password: 'frank password' })).token, 'another client is not locked out')

  await new Promise(resolve => setTimeout(resolve, limited.retryAfterMs + 50))
  t.ok((await client.call(api.login, { login: 'frank', password: 'frank password' })).token, 'lifts after the backoff')

  let sprayed = 0
  for (let i = 0; i < 8; i++) {
    const err = await client.call(api.login, { login: `ghost${i}`, password: 'whatever1' }).catch(e => e)
    if (err.code === 'RATE_LIMITED') break
    t.equal(err.code, 'UNAUTHENTICATED')
    sprayed++
  }
  t.ok(sprayed < 8, `spraying names from one client backs off (after ${sprayed})`)
  await t.rejects(client.call(api.login, { login: 'frank', password: 'frank password' }), { code: 'RATE_LIMITED' }, 'per client')
  t.ok((await other.client(auth.node.publicKey).call(api.login, { login: 'frank', password: 'frank password' })).token, 'other callers unaffected')
})
