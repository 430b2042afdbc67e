import t from 'tap'
import { SignJWT } from 'jose'
import { AccountReplica } from '../shared/accounts/replica.js'
import * as api from '../shared/schemas/auth.js'
import { createAuthNode } from '../services/auth/role.js'
import { createTestMesh } from './helpers/mesh.js'

const JWT_SECRET = 'test-secret-test-secret-test-secret-0123456789'
const FAST = { scrypt: { N: 1024, r: 8, p: 1 }, jwtSecret: JWT_SECRET }

t.test('register, login, keys, revocation seen by a replica, and the error cases', async t => {
  const mesh = await createTestMesh(t)
  const auth = await createAuthNode({ dataDir: mesh.dir('auth'), network: mesh.network, bootstrap: mesh.bootstrap, config: { ...FAST, admins: ['root'] } })
  mesh.closeLater(() => auth.close())
  const caller = await mesh.node({ role: 'web', announce: false })
  const gateway = await mesh.node({ role: 'gateway', announce: false })
  const [found] = await caller.discovery.waitFor('auth')
  const client = caller.client(found.publicKey)

  const alice = await client.call(api.register, { username: 'alice', email: 'Alice@Example.com', password: 'correct horse' })
  t.match(alice, { username: 'alice', email: 'alice@example.com', role: 'user', plan: 'default' })
  await t.rejects(client.call(api.register, { username: 'alice', email: 'other@example.com', password: 'correct horse' }), { code: 'CONFLICT' })
  await t.rejects(client.call(api.register, { username: 'alice2', email: 'alice@example.com', password: 'correct horse' }), { code: 'CONFLICT' })
  await t.rejects(client.call(api.register, { username: 'Bad Name', email: 'x@example.com', password: 'correct horse' }), { code: 'INVALID_ARGUMENT' })
  await t.rejects(client.call(api.register, { username: 'bob', email: 'bob@example.com', password: 'short' }), { code: 'INVALID_ARGUMENT' })
  await t.rejects(client.call(api.register, { username: 'bob', email: 'bob@example.com', password: 'long enough', extra: 1 } as never), { code: 'INVALID_ARGUMENT' })

  const wrongPassword = await client.call(api.login, { login: 'alice', password: 'wrong password' }).catch(err => err)
  const unknownUser = await client.call(api.login, { login: 'nobody', password: 'wrong password' }).catch(err => err)
  t.equal(wrongPassword.code, 'UNAUTHENTICATED')
  t.equal(unknownUser.code, 'UNAUTHENTICATED')
  t.equal(wrongPassword.message, unknownUser.message, 'does not say which part was wrong')

  const session = await client.call(api.login, { login: 'alice@example.com', password: 'correct horse' })
  t.ok(Date.parse(session.expiresAt) > Date.now(), 'session has an expiry')
  t.equal((await client.call(api.whoami, { token: session.token })).username, 'alice')

  const forged = await new SignJWT({ pwv: 0 }).setProtectedHeader({ alg: 'HS256' }).setSubject(alice.id)
    .setIssuer('hyperinfer-auth').setAudience('hyperinfer').setExpirationTime('1h').sign(new TextEncoder().encode('x'.repeat(48)))
  await t.rejects(client.call(api.whoami, { token: forged }), { code: 'UNAUTHENTICATED' }, 'forged token')
  const expired = await new SignJWT({ pwv: 0 }).setProtectedHeader({ alg: 'HS256' }).setSubject(alice.id)
    .setIssuer('hyperinfer-auth').setAudience('hyperinfer').setExpirationTime(Math.floor(Date.now() / 1000) - 60).sign(new TextEncoder().encode(JWT_SECRET))
  await t.rejects(client.call(api.whoami, { token: expired }), { code: 'UNAUTHENTICATED' }, 'expired token')
  await t.rejects(client.call(api.whoami, { token: 'not.a.jwt' }), { code: 'UNAUTHENTICATED' })

  const first = await client.call(api.createKey, { token: session.token, name: 'laptop' })
  const second = await client.call(api.createKey, { token: session.token, name: 'server' })
  t.match(first.key, /^hi_[A-Za-z0-9_-]{43}$/)
  t.equal(first.prefix, first.key.slice(0, 11))
  const listed = await client.call(api.listKeys, { token: session.token })
  t.same(listed.keys.map(k => k.name).sort(), ['laptop', 'server'])
  t.notOk(JSON.stringify(listed).includes(first.key), 'listing never shows a key')

  const replica = await new AccountReplica(gateway).open()
  t.teardown(() => replica.close())
  await replica.waitForSeq(auth.store.accounts.core.length - 1)
  t.match(replica.lookupKey(first.key), { username: 'alice', keyId: first.id, plan: 'default', role: 'user', live: true, limits: { requestsPerHour: 100, tokensPerDay: 100_000 } })
  t.equal(replica.lookupKey('hi_' + 'A'.repeat(43)), null, 'unknown key')

  const revoked = await client.call(api.revokeKey, { token: session.token, keyId: first.id })
  t.ok(revoked.revokedAt)
  const rotated = await client.call(api.rotateKey, { token: session.token, keyId: second.id })
  t.equal(rotated.revoked.id, second.id)
  t.equal(rotated.created.name, 'server')
  await replica.waitForSeq(auth.store.accounts.core.length - 1, 1_000)
  t.equal(replica.lookupKey(first.key)?.live, false, 'revoked key rejected by the replica within 1 s')
  t.equal(replica.lookupKey(second.key)?.live, false, 'rotated-away key rejected')
  t.equal(replica.lookupKey(rotated.created.key)?.live, true, 'new key accepted')

  // another user cannot see or touch alice's keys
  await client.call(api.register, { username: 'mallory', email: 'mallory@example.com', password: 'mallory pass' })
  const mallory = await client.call(api.login, { login: 'mallory', password: 'mallory pass' })
  t.same((await client.call(api.listKeys, { token: mallory.token })).keys, [])
  await t.rejects(client.call(api.revokeKey, { token: mallory.token, keyId: rotated.created.id }), { code: 'NOT_FOUND' })
  await t.rejects(client.call(api.rotateKey, { token: mallory.token, keyId: rotated.created.id }), { code: 'NOT_FOUND' })
  t.equal(replica.lookupKey(rotated.created.key)?.live, true, 'still live')

  // admin methods
  await t.rejects(client.call(api.adminListUsers, { token: mallory.token }), { code: 'FORBIDDEN' })
  await t.rejects(client.call(api.adminSetPlan, { token: mallory.token, username: 'mallory', plan: 'premium' }), { code: 'FORBIDDEN' })
  await t.rejects(client.call(api.adminAudit, { token: mallory.token }), { code: 'FORBIDDEN' })
  await t.rejects(client.call(api.adminApproveWorker, { token: mallory.token, publicKey: 'a'.repeat(64) }), { code: 'FORBIDDEN' })
  await client.call(api.register, { username: 'root', email: 'root@example.com', password: 'root password' })
  const root = await client.call(api.login, { login: 'root', password: 'root password' })
  t.equal(root.user.role, 'admin', 'configured admin is promoted on register')
  t.same((await client.call(api.adminListUsers, { token: root.token })).users.map(u => u.username), ['alice', 'mallory', 'root'])
  t.equal((await client.call(api.adminSetPlan, { token: root.token, username: 'alice', plan: 'premium' })).plan, 'premium')
  await t.rejects(client.call(api.adminSetPlan, { token: root.token, username: 'alice', plan: 'gold' }), { code: 'INVALID_ARGUMENT' })
  t.equal((await client.call(api.adminSetRole, { token: root.token, username: 'mallory', role: 'admin' })).role, 'admin')
  const worker = 'b'.repeat(64)
  await client.call(api.adminApproveWorker, { token: root.token, publicKey: worker })
  await replica.waitForSeq(auth.store.accounts.core.length - 1, 1_000)
  t.equal(replica.lookupKey(rotated.created.key)?.limits.requestsPerHour, 1_000, 'plan change reaches the replica')
  t.ok(replica.isWorkerApproved(worker))
  await client.call(api.adminRevokeWorker, { token: root.token, publicKey: worker })
  await replica.waitForSeq(auth.store.accounts.core.length - 1, 1_000)
  t.notOk(replica.isWorkerApproved(worker))

  const audit = await client.call(api.adminAudit, { token: root.token, limit: 100 })
  const actions = audit.entries.map(e => e.action)
  for (const action of ['user.register', 'login.failure', 'key.create', 'key.revoke', 'key.rotate', 'user.set-plan', 'user.set-role', 'worker.approve', 'worker.revoke']) {
    t.ok(actions.includes(action), `audit has ${action}`)
  }
  t.notOk(JSON.stringify(audit).includes(rotated.created.key), 'audit holds no key')

  // last used, reported by an approved gateway only
  const touch = { keys: [{ userId: alice.id, keyId: rotated.created.id, lastUsedAt: new Date().toISOString() }] }
  await t.rejects(gateway.client(found.publicKey).call(api.touchKeys, touch), { code: 'FORBIDDEN', message: /approved gateway/ }, 'a stranger may not report key use')
  await auth.store.setNode('gateway', gateway.publicKey.toString('hex'), true, 'test')
  const touched = await gateway.client(found.publicKey).call(api.touchKeys, touch)
  t.equal(touched.updated, 1)
  const afterTouch = await client.call(api.listKeys, { token: session.token })
  t.ok(afterTouch.keys.find(k => k.id === rotated.created.id)?.lastUsedAt)

  // a changed password ends older sessions
  await client.call(api.changePassword, { token: session.token, currentPassword: 'correct horse', newPassword: 'battery staple' })
  await t.rejects(client.call(api.whoami, { token: session.token }), { code: 'UNAUTHENTICATED' })
  t.ok((await client.call(api.login, { login: 'alice', password: 'battery staple' })).token)
})

t.test('autoApproveWorkers (the devnet) approves inference workers it finds; configured keys are approved at start', async t => {
  const mesh = await createTestMesh(t)
  const configured = 'c'.repeat(64)
  const auth = await createAuthNode({
    dataDir: mesh.dir('auth'), network: mesh.network, bootstrap: mesh.bootstrap, refreshIntervalMs: 200,
    config: { ...FAST, autoApproveWorkers: true, approvedWorkers: [configured] }
  })
  mesh.closeLater(() => auth.close())
  const gateway = await mesh.node({ role: 'gateway', announce: false })
  const replica = await new AccountReplica(gateway).open()
  t.teardown(() => replica.close())
  const worker = await mesh.node({ role: 'inference' })
  const workerKey = worker.publicKey.toString('hex')
  t.notOk(replica.isWorkerApproved('d'.repeat(64)), 'unknown workers are not approved')
  await new Promise<void>(resolve => {
    const check = (): void => { if (replica.isWorkerApproved(workerKey)) { replica.off('update', check); resolve() } }
    replica.on('update', check)
    check()
  })
  t.ok(replica.isWorkerApproved(workerKey), 'the worker found on the network is approved')
  t.ok(replica.isWorkerApproved(configured), 'the configured worker is approved')
})
