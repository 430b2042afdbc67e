import t from 'tap'
import type { Test } from 'tap'
import { request as httpRequest } from 'node:http'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { unary, streaming } from '../shared/mesh/rpc-server.js'
import { accountsInfo, approvedNodes, changePassword, createKey, login, register, whoami } from '../shared/schemas/auth.js'
import { infer, usage } from '../shared/schemas/gateway.js'
import { createWebNode, type WebNode } from '../services/web/role.js'
import { createPlatform, untilServed, type Platform } from './helpers/platform.js'
import { until } from './helpers/until.js'

const MODEL = 'gpt-fake'
const PASSWORD = 'correct horse battery'

interface Reply { status: number, body: any, setCookies: string[] } // eslint-disable-line @typescript-eslint/no-explicit-any

/** One HTTP request from a chosen loopback address (the end user's IP as the web node sees it). */
function send (web: WebNode, method: string, path: string, opts: { from?: string, body?: unknown, headers?: Record<string, string> } = {}): Promise<Reply> {
  const url = new URL(web.url)
  const body = opts.body === undefined ? undefined : JSON.stringify(opts.body)
  return new Promise((resolve, reject) => {
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      method,
      path,
      localAddress: opts.from ?? '127.0.0.1',
      headers: { ...(body ? { 'content-type': 'application/json' } : {}), ...opts.headers }
    }, res => {
      let text = ''
      res.on('data', chunk => { text += chunk })
      res.on('end', () => {
        let parsed: unknown = text
        try { parsed = JSON.parse(text) } catch {}
        resolve({ status: res.statusCode ?? 0, body: parsed, setCookies: ([] as string[]).concat(res.headers['set-cookie'] ?? []) })
      })
    })
    req.on('error', reject)
    req.end(body)
  })
}

const cookieValue = (reply: Reply, name: string): string | undefined =>
  reply.setCookies.map(line => line.split(';')[0]).find(pair => pair.startsWith(`${name}=`))?.slice(name.length + 1)

/** Logs in through the web node from `from`: the session cookie and a CSRF token, as a browser would hold them. */
async function browserLogin (t: Test, web: WebNode, username: string, from = '127.0.0.1'): Promise<{ headers: Record<string, string>, token: string }> {
  const csrf = cookieValue(await send(web, 'GET', '/api/auth/csrf', { from }), 'hi_csrf') as string
  const origin = web.url
  const loggedIn = await send(web, 'POST', '/api/auth/login', { from, body: { login: username, password: PASSWORD }, headers: { cookie: `hi_csrf=${csrf}`, 'x-csrf-token': csrf, origin } })
  t.equal(loggedIn.status, 200, `${username} logs in through the web node: ${JSON.stringify(loggedIn.body)}`)
  const token = cookieValue(loggedIn, 'hi_session') as string
  return { token, headers: { cookie: `hi_csrf=${csrf}; hi_session=${token}`, 'x-csrf-token': csrf, origin } }
}

async function pinnedWeb (t: Test, platform: Platform): Promise<WebNode> {
  const authKey = platform.auth.node.publicKey
  const web = await createWebNode({ dataDir: platform.mesh.dir('web'), network: platform.mesh.network, bootstrap: platform.mesh.bootstrap, config: { port: 0 }, refreshIntervalMs: 300, authKey })
  platform.mesh.closeLater(() => web.close())
  await platform.auth.store.setNode('web', web.node.publicKey.toString('hex'), true, 'test operator')
  const accounts = await until('the web node to follow the accounts bee', () => web.accounts, { timeoutMs: 15_000 })
  t.ok(accounts.key?.equals(platform.auth.accountsKey), 'the accounts bee of the pinned auth node, not of a rogue')
  return web
}

async function fakeWorker (t: Test, platform: Platform): Promise<void> {
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const fake = await startFakeOpenAI({ reply: 'Hello from the fake model, streamed in pieces.' })
  t.teardown(() => fake.close())
  await platform.worker({ openaiBaseUrl: `${fake.url}/v1`, openaiModels: [MODEL] })
  await untilServed(platform.gateway, MODEL)
}

t.test('through the web node a rogue auth and a rogue gateway get no password, session, key or prompt; real traffic succeeds', async t => {
  const platform = await createPlatform(t, { pinned: true })
  const captured: string[] = []
  const rogueAuth = await platform.mesh.node({
    role: 'auth',
    methods: [
      unary(login, req => { captured.push(`password ${req.password}`); throw new Error('rogue') }),
      unary(register, req => { captured.push(`password ${req.password}`); throw new Error('rogue') }),
      unary(whoami, req => { captured.push(`session ${req.token}`); throw new Error('rogue') }),
      unary(createKey, req => { captured.push(`session ${req.token}`); throw new Error('rogue') }),
      unary(approvedNodes, ({ role }) => ({ role, publicKeys: [] })),
      unary(accountsInfo, () => { captured.push('asked for the accounts key'); return { key: '00'.repeat(32), length: 1 } })
    ]
  })
  const rogueGateway = await platform.mesh.node({
    role: 'gateway',
    methods: [streaming(infer, async function * (req) {
      captured.push(`key ${req.apiKey} prompt ${req.prompt}`)
      yield { text: 'stolen' }
      return {} as never
    })]
  })
  await fakeWorker(t, platform)
  const web = await pinnedWeb(t, platform)
  const seen = await Promise.all([web.node.discovery.waitFor('auth', { count: 2 }), web.node.discovery.waitFor('gateway', { count: 2 })])
  t.ok(seen[0].some(p => p.publicKey.equals(rogueAuth.publicKey)) && seen[1].some(p => p.publicKey.equals(rogueGateway.publicKey)), 'both rogues are up on their topics')

  const csrf = cookieValue(await send(web, 'GET', '/api/auth/csrf'), 'hi_csrf') as string
  const registered = await send(web, 'POST', '/api/auth/register', { body: { username: 'carol', email: 'carol@example.com', password: PASSWORD }, headers: { cookie: `hi_csrf=${csrf}`, 'x-csrf-token': csrf, origin: web.url } })
  t.equal(registered.status, 201, 'registered through the web node')
  for (let i = 0; i < 10; i++) {
    const { headers } = await browserLogin(t, web, 'carol')
    const key = await send(web, 'POST', '/api/auth/api-keys', { body: { name: `k${i}` }, headers })
    t.equal(key.status, 201, 'a key created with the session')
    const ran = await send(web, 'POST', '/api/inference', { body: { model: MODEL, prompt: `web request ${i}`, stream: false }, headers: { 'x-api-key': key.body.key.key } })
    t.equal(ran.status, 200, `web inference ${i}: ${JSON.stringify(ran.body).slice(0, 200)}`)
  }
  t.same(captured, [], 'the rogues got nothing')
})

t.test('30 concurrent guesses for one account are evaluated at most at the limit, by username or by email', async t => {
  const platform = await createPlatform(t, { pinned: true })
  const caller = await platform.mesh.node({ role: 'gateway', announce: false })
  const auth = caller.client(platform.auth.node.publicKey)
  await auth.call(register, { username: 'dave', email: 'dave@example.com', password: PASSWORD })
  const guesses = Array.from({ length: 30 }, (_, i) => ({ login: i % 2 === 0 ? 'dave' : 'DAVE@example.com', password: i === 10 ? PASSWORD : `wrong guess ${i}` }))
  const answers = await Promise.all(guesses.map(guess => auth.call(login, guess).then(() => 'OK', err => err.code as string)))
  const evaluated = answers.filter(code => code !== 'RATE_LIMITED')
  const limit = platform.auth.config.loginThrottle.maxFailuresPerUser
  t.ok(evaluated.length <= limit, `${evaluated.length} of 30 evaluated (limit ${limit}): ${answers.join(' ')}`)
  t.equal(answers.filter(code => code === 'RATE_LIMITED').length, 30 - evaluated.length, 'the rest answered RATE_LIMITED')
  t.notOk(answers.slice(limit).includes('OK'), 'a right guess past the limit does not get in')
})

t.test('one attacker cannot lock other users out of web login: limits follow the end user\'s IP', async t => {
  const platform = await createPlatform(t, { pinned: true })
  const web = await pinnedWeb(t, platform)
  const direct = web.node.client(platform.auth.node.publicKey)
  await direct.call(register, { username: 'erin', email: 'erin@example.com', password: PASSWORD })

  const attacker = '127.0.0.2'
  const csrf = cookieValue(await send(web, 'GET', '/api/auth/csrf', { from: attacker }), 'hi_csrf') as string
  const headers = { cookie: `hi_csrf=${csrf}`, 'x-csrf-token': csrf, origin: web.url }
  const statuses: number[] = []
  for (let i = 0; i < 50; i++) {
    statuses.push((await send(web, 'POST', '/api/auth/login', { from: attacker, body: { login: `user${i}`, password: 'guessing' }, headers })).status)
  }
  for (let i = 0; i < 10; i++) {
    statuses.push((await send(web, 'POST', '/api/auth/login', { from: attacker, body: { login: 'erin', password: `guess ${i}` }, headers })).status)
  }
  t.ok(statuses.includes(429), 'the attacker is slowed down')
  t.equal((await send(web, 'POST', '/api/auth/login', { from: attacker, body: { login: 'erin', password: PASSWORD }, headers })).status, 429, 'even the right password waits, from the attacker\'s address')

  await browserLogin(t, web, 'erin', '127.0.0.3')
  await direct.call(register, { username: 'frank', email: 'frank@example.com', password: PASSWORD })
  await browserLogin(t, web, 'frank', '127.0.0.4')
})

t.test('CSRF and Origin checks act on the routed request: %61pi, double slashes and case variants', async t => {
  const platform = await createPlatform(t, { pinned: true })
  const web = await pinnedWeb(t, platform)
  await web.node.client(platform.auth.node.publicKey).call(register, { username: 'gina', email: 'gina@example.com', password: PASSWORD })
  const { headers } = await browserLogin(t, web, 'gina')
  const evil = { cookie: headers.cookie, origin: 'http://evil.example' }
  const keysBefore = (await send(web, 'GET', '/api/auth/api-keys', { headers })).body.keys.length

  for (const path of ['/api/auth/api-keys', '/%61pi/auth/api-keys', '/%61%70%69/auth/api-keys', '//api/auth/api-keys', '/API/auth/api-keys', '/Api/auth/api-keys', '/api//auth/api-keys', '/api/auth/api-key%73']) {
    const reply = await send(web, 'POST', path, { body: { name: 'csrf' }, headers: evil })
    t.not(reply.status, 201, `POST ${path} from evil.example is not served (${reply.status})`)
    t.ok([403, 404].includes(reply.status), `POST ${path}: refused or unrouted (${reply.status})`)
    const noToken = await send(web, 'POST', path, { body: { name: 'csrf' }, headers: { cookie: headers.cookie, origin: web.url } })
    t.not(noToken.status, 201, `POST ${path} without the CSRF token is not served (${noToken.status})`)
  }
  const logout = await send(web, 'POST', '/%61pi/auth/logout', { headers: evil })
  t.equal(logout.status, 403, 'logout through %61pi from evil.example is refused')
  t.equal((await send(web, 'GET', '/api/auth/api-keys', { headers })).body.keys.length, keysBefore, 'no key was created')
  t.equal((await send(web, 'POST', '/api/auth/api-keys', { body: { name: 'legit' }, headers })).status, 201, 'our own page still creates keys')
})

t.test('after logout, and after a password change, the old session token is refused everywhere', async t => {
  const platform = await createPlatform(t, { pinned: true })
  await fakeWorker(t, platform)
  const web = await pinnedWeb(t, platform)
  const auth = web.node.client(platform.auth.node.publicKey)
  const gateway = web.node.client(platform.gateway.node.publicKey)
  await auth.call(register, { username: 'hana', email: 'hana@example.com', password: PASSWORD })

  const { headers, token } = await browserLogin(t, web, 'hana')
  t.equal((await auth.call(whoami, { token })).username, 'hana', 'the session works before logout')
  t.equal((await send(web, 'POST', '/api/auth/logout', { headers })).status, 200, 'logged out')
  await t.rejects(auth.call(whoami, { token }), { code: 'UNAUTHENTICATED' }, 'auth: whoami refuses the old token')
  await t.rejects(auth.call(createKey, { token, name: 'after logout' }), { code: 'UNAUTHENTICATED' }, 'auth: no key with the old token')
  await t.rejects(gateway.call(usage, { sessionToken: token }), { code: 'UNAUTHENTICATED' }, 'gateway: usage refuses the old token')
  const reused = await send(web, 'POST', '/api/auth/api-keys', { body: { name: 'after logout' }, headers })
  t.equal(reused.status, 401, 'web: the copied cookie no longer creates a key')

  const first = await auth.call(login, { login: 'hana', password: PASSWORD })
  const second = await auth.call(login, { login: 'hana', password: PASSWORD })
  await auth.call(changePassword, { token: first.token, currentPassword: PASSWORD, newPassword: 'a brand new password' })
  await t.rejects(auth.call(whoami, { token: second.token }), { code: 'UNAUTHENTICATED' }, 'a password change ends the other sessions')
  await t.rejects(auth.call(whoami, { token: first.token }), { code: 'UNAUTHENTICATED' }, 'and the one that changed it')
})

t.test('register is throttled per client: the web node\'s end users each have their own allowance', async t => {
  const platform = await createPlatform(t, { pinned: true, auth: { registerPerClientPerHour: 3 } })
  const web = await pinnedWeb(t, platform)
  const registerFrom = async (from: string, name: string): Promise<number> => {
    const csrf = cookieValue(await send(web, 'GET', '/api/auth/csrf', { from }), 'hi_csrf') as string
    const reply = await send(web, 'POST', '/api/auth/register', { from, body: { username: name, email: `${name}@example.com`, password: PASSWORD }, headers: { cookie: `hi_csrf=${csrf}`, 'x-csrf-token': csrf, origin: web.url } })
    return reply.status
  }
  const spammer = []
  for (let i = 0; i < 5; i++) spammer.push(await registerFrom('127.0.0.5', `spam${i}`))
  t.same(spammer, [201, 201, 201, 429, 429], 'three registrations, then 429 for this address')
  t.equal(await registerFrom('127.0.0.6', 'someone'), 201, 'another address still registers')
  const direct = await platform.mesh.node({ role: 'gateway', announce: false })
  const client = direct.client(platform.auth.node.publicKey)
  for (let i = 0; i < 3; i++) await client.call(register, { username: `node${i}`, email: `node${i}@example.com`, password: PASSWORD, client: '127.0.0.9' })
  await t.rejects(client.call(register, { username: 'node3', email: 'node3@example.com', password: PASSWORD, client: '10.1.1.1' }), { code: 'RATE_LIMITED' },
    'a node that is not an approved web node cannot claim to act for other addresses: it is one client')
})
