import t from 'tap'
import type { Test } from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { HyperinferError, type ErrorCode } from '../shared/errors.js'
import { unary } from '../shared/mesh/rpc-server.js'
import { quota } from '../shared/schemas/gateway.js'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import type { WebConfig } from '../shared/config/web.js'
import { createWebNode } from '../services/web/role.js'
import { createTestMesh } from './helpers/mesh.js'
import { createPlatform, untilServed, type Platform } from './helpers/platform.js'
import { until } from './helpers/until.js'

const MODEL = 'gpt-fake'
const PASSWORD = 'correct horse battery'

/** A tiny HTTP client with a cookie jar and the CSRF header, like our pages. */
class Browser {
  readonly base: string
  readonly cookies = new Map<string, string>()
  lastSetCookies: string[] = []
  constructor (base: string) { this.base = base }

  async request (method: string, path: string, opts: { body?: unknown, raw?: string, headers?: Record<string, string>, csrf?: boolean } = {}): Promise<Response> {
    const headers: Record<string, string> = { ...opts.headers }
    if (this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ')
    if (opts.csrf !== false && this.cookies.has('hi_csrf')) headers['x-csrf-token'] = this.cookies.get('hi_csrf') as string
    let body: string | undefined
    if (opts.raw !== undefined || opts.body !== undefined) {
      headers['content-type'] ??= 'application/json'
      body = opts.raw ?? JSON.stringify(opts.body)
    }
    const res = await fetch(this.base + path, { method, headers, body, redirect: 'manual' })
    this.lastSetCookies = res.headers.getSetCookie()
    for (const line of this.lastSetCookies) {
      const [pair] = line.split(';')
      const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }

  async json (method: string, path: string, opts: Parameters<Browser['request']>[2] = {}): Promise<{ status: number, body: any, headers: Headers }> {
    const res = await this.request(method, path, opts)
    return { status: res.status, body: await res.json(), headers: res.headers }
  }
}

async function startWeb (t: Test, platform: { mesh: Platform['mesh'] }, extra: Partial<WebConfig> = {}) {
  const web = await createWebNode({ dataDir: platform.mesh.dir('web'), network: platform.mesh.network, bootstrap: platform.mesh.bootstrap, refreshIntervalMs: 300, config: { port: 0, ...extra } })
  platform.mesh.closeLater(() => web.close())
  return web
}

async function fastWorker (t: Test, platform: Platform) {
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const fake = await startFakeOpenAI({ reply: 'Hello from the fake model, streamed in pieces.' })
  t.teardown(() => fake.close())
  await platform.worker({ openaiBaseUrl: `${fake.url}/v1`, openaiModels: [MODEL] })
  await untilServed(platform.gateway, MODEL)
}

function expectError (t: Test, res: { status: number, body: any }, status: number, code: ErrorCode, label: string): void {
  t.equal(res.status, status, `${label}: HTTP ${status}`)
  t.equal(res.body?.error?.code, code, `${label}: ${code}`)
  t.type(res.body?.error?.message, 'string', `${label}: has a message`)
}

t.test('pages, assets and security headers', async t => {
  const platform = await createPlatform(t)
  const web = await startWeb(t, platform)
  t.match(web.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'bound to loopback')
  const b = new Browser(web.url)

  const home = await b.request('GET', '/')
  t.equal(home.status, 200)
  t.match(home.headers.get('content-type'), /text\/html/)
  const csp = home.headers.get('content-security-policy') ?? ''
  t.match(csp, /default-src 'self'/)
  t.match(csp, /script-src 'self'(;|$)/, 'no unsafe-inline scripts')
  t.notMatch(csp, /unsafe-inline|unsafe-eval/)
  t.equal(home.headers.get('x-frame-options'), 'DENY')
  t.equal(home.headers.get('x-content-type-options'), 'nosniff')
  const html = await home.text()
  t.notMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script in the page')
  t.notMatch(html, /\sstyle=/, 'no inline style attribute')
  t.ok(b.cookies.get('hi_csrf'), 'a CSRF cookie is handed out with the page')
  t.notMatch(b.lastSetCookies.join(), /HttpOnly/, 'the CSRF cookie is readable by our scripts')

  for (const path of ['/register', '/login', '/mesh']) t.equal((await b.request('GET', path)).status, 200, `${path} is public`)
  const dash = await new Browser(web.url).request('GET', '/dashboard')
  t.equal(dash.status, 302, 'the dashboard needs a session')
  t.equal(dash.headers.get('location'), '/login?next=%2Fdashboard')

  const js = await b.request('GET', '/assets/js/dashboard.js')
  t.equal(js.status, 200)
  t.match(js.headers.get('content-type'), /javascript/)
  const uplot = await b.request('GET', '/assets/vendor/uplot/uPlot.esm.js')
  t.equal(uplot.status, 200, 'uPlot is served by the web node itself')
  t.match(await uplot.text(), /export default uPlot|export \{/)
  t.equal((await b.request('GET', '/assets/vendor/uplot/uPlot.min.css')).status, 200)
  t.equal((await b.request('GET', '/assets/vendor/uplot/uPlot.cjs.js')).status, 404, 'only the files the pages use')
  t.equal((await b.request('GET', '/assets/../index.ts')).status, 404, 'no path traversal')

  const missingPage = await b.request('GET', '/nope')
  t.equal(missingPage.status, 404)
  t.match(missingPage.headers.get('content-type'), /text\/html/)
  expectError(t, await b.json('GET', '/api/nope'), 404, 'NOT_FOUND', 'unknown API route')
})

t.test('accounts, sessions, CSRF and API keys over REST', async t => {
  const platform = await createPlatform(t)
  const web = await startWeb(t, platform)
  const b = new Browser(web.url)
  const { body: csrf } = await b.json('GET', '/api/auth/csrf')
  t.equal(csrf.token, b.cookies.get('hi_csrf'))

  const alice = { username: 'alice', email: 'alice@example.com', password: PASSWORD }
  expectError(t, await b.json('POST', '/api/auth/register', { body: alice, csrf: false }), 403, 'FORBIDDEN', 'no CSRF header')
  expectError(t, await b.json('POST', '/api/auth/register', { body: alice, headers: { 'x-csrf-token': 'x'.repeat(32) }, csrf: false }), 403, 'FORBIDDEN', 'wrong CSRF token')
  expectError(t, await b.json('POST', '/api/auth/register', { body: alice, headers: { origin: 'http://evil.example' } }), 403, 'FORBIDDEN', 'foreign Origin')
  expectError(t, await b.json('POST', '/api/auth/register', { body: alice, headers: { 'sec-fetch-site': 'cross-site' } }), 403, 'FORBIDDEN', 'cross-site fetch')

  const bad = await b.json('POST', '/api/auth/register', { body: { username: 'A!', email: 'nope', password: 'short' } })
  expectError(t, bad, 400, 'INVALID_ARGUMENT', 'invalid fields')
  t.same([...new Set(bad.body.error.details.problems.map((p: { path: string }) => p.path))].sort(), ['email', 'password', 'username'], 'every zod issue is listed')
  expectError(t, await b.json('POST', '/api/auth/register', { body: { ...alice, admin: true } }), 400, 'INVALID_ARGUMENT', 'unknown field')
  expectError(t, await b.json('POST', '/api/auth/register', { raw: '{"username":' }), 400, 'INVALID_ARGUMENT', 'broken JSON')
  expectError(t, await b.json('POST', '/api/auth/register', { raw: 'x'.repeat(3 * 1024 * 1024) }), 413, 'PAYLOAD_TOO_LARGE', 'huge body')

  const registered = await b.json('POST', '/api/auth/register', { body: alice })
  t.equal(registered.status, 201)
  t.equal(registered.body.user.username, 'alice')
  t.notOk('password' in registered.body.user)
  expectError(t, await b.json('POST', '/api/auth/register', { body: alice }), 409, 'CONFLICT', 'same username again')

  expectError(t, await b.json('GET', '/api/auth/me'), 401, 'UNAUTHENTICATED', 'no session')
  expectError(t, await b.json('POST', '/api/auth/login', { body: { login: 'alice', password: 'wrong password' } }), 401, 'UNAUTHENTICATED', 'wrong password')
  const loggedIn = await b.json('POST', '/api/auth/login', { body: { login: 'alice', password: PASSWORD } })
  t.equal(loggedIn.status, 200)
  const sessionCookie = b.lastSetCookies.find(c => c.startsWith('hi_session='))
  t.ok(sessionCookie, 'session cookie set')
  t.match(sessionCookie, /HttpOnly/i)
  t.match(sessionCookie, /SameSite=Strict/i)
  t.match(sessionCookie, /Path=\//)
  t.notOk(JSON.stringify(loggedIn.body).includes(b.cookies.get('hi_session') as string), 'the token is never in a body')
  t.equal((await b.json('GET', '/api/auth/me')).body.user.username, 'alice')
  expectError(t, await b.json('GET', '/api/auth/me?x=1'), 400, 'INVALID_ARGUMENT', 'unknown query parameter')

  expectError(t, await b.json('POST', '/api/auth/api-keys', { body: { name: '' } }), 400, 'INVALID_ARGUMENT', 'empty key name')
  expectError(t, await b.json('POST', '/api/auth/api-keys', { body: { name: 'laptop' }, csrf: false }), 403, 'FORBIDDEN', 'key creation without CSRF')
  const created = await b.json('POST', '/api/auth/api-keys', { body: { name: 'laptop' } })
  t.equal(created.status, 201)
  t.equal(created.headers.get('cache-control'), 'no-store')
  t.ok(created.body.key.key.startsWith(created.body.key.prefix), 'the key, shown once')
  const listed = await b.json('GET', '/api/auth/api-keys')
  t.equal(listed.body.keys.length, 1)
  t.notOk('key' in listed.body.keys[0], 'the list never shows a key')
  t.equal(listed.body.keys[0].prefix, created.body.key.prefix)

  const rotated = await b.json('POST', `/api/auth/api-keys/${created.body.key.id}/rotate`, { body: {} })
  t.equal(rotated.status, 201)
  t.ok(rotated.body.revoked.revokedAt, 'old key revoked')
  t.not(rotated.body.created.key, created.body.key.key)
  expectError(t, await b.json('DELETE', '/api/auth/api-keys/no-such-key', { body: {} }), 404, 'NOT_FOUND', 'revoke an unknown key')
  expectError(t, await b.json('DELETE', '/api/auth/api-keys/bad%20id', { body: {} }), 400, 'INVALID_ARGUMENT', 'malformed key id')
  const revoked = await b.json('DELETE', `/api/auth/api-keys/${rotated.body.created.id}`, { body: {} })
  t.equal(revoked.status, 200)
  t.ok(revoked.body.key.revokedAt)

  // Someone else's session cannot touch alice's keys.
  const mallory = new Browser(web.url)
  await mallory.json('GET', '/api/auth/csrf')
  await mallory.json('POST', '/api/auth/register', { body: { username: 'mallory', email: 'm@example.com', password: PASSWORD } })
  await mallory.json('POST', '/api/auth/login', { body: { login: 'mallory', password: PASSWORD } })
  const theirs = await mallory.json('DELETE', `/api/auth/api-keys/${created.body.key.id}`, { body: {} })
  t.ok(theirs.status === 404 || theirs.status === 403, `another user's key is out of reach (${theirs.status})`)
  expectError(t, await mallory.json('GET', '/api/admin/users'), 403, 'FORBIDDEN', 'admin route as a user')

  expectError(t, await b.json('POST', '/api/auth/password', { body: { currentPassword: 'not it at all', newPassword: 'a new password' } }), 401, 'UNAUTHENTICATED', 'wrong current password')
  t.equal((await b.json('POST', '/api/auth/password', { body: { currentPassword: PASSWORD, newPassword: 'a new password' } })).status, 200)
  t.equal((await b.json('POST', '/api/auth/login', { body: { login: 'alice', password: 'a new password' } })).status, 200, 'new password works')

  const forged = new Browser(web.url)
  forged.cookies.set('hi_session', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln')
  expectError(t, await forged.json('GET', '/api/auth/me'), 401, 'UNAUTHENTICATED', 'forged session')

  t.equal((await b.json('POST', '/api/auth/logout', { body: {} })).status, 200)
  t.notOk(b.cookies.has('hi_session'), 'logout clears the cookie')
  expectError(t, await b.json('GET', '/api/auth/api-keys'), 401, 'UNAUTHENTICATED', 'after logout')
})

t.test('inference, usage, quota, models and status over REST', async t => {
  const platform = await createPlatform(t, {
    auth: { admins: ['root'], plans: { default: { requestsPerHour: 100, tokensPerDay: 100_000 }, tiny: { requestsPerHour: 1, tokensPerDay: 100_000 } } }
  })
  await fastWorker(t, platform)
  const web = await startWeb(t, platform)
  const b = new Browser(web.url)
  await b.json('GET', '/api/auth/csrf')
  await b.json('POST', '/api/auth/register', { body: { username: 'alice', email: 'alice@example.com', password: PASSWORD } })
  await b.json('POST', '/api/auth/login', { body: { login: 'alice', password: PASSWORD } })
  const { body: { key } } = await b.json('POST', '/api/auth/api-keys', { body: { name: 'try' } })
  await platform.gateway.accounts.waitForSeq(platform.auth.store.accounts.version - 1, 5_000)
  const withKey = { 'x-api-key': key.key }

  t.same((await b.json('GET', '/api/models')).body.models.map((m: { name: string }) => m.name), [MODEL])

  expectError(t, await b.json('POST', '/api/inference', { body: { model: MODEL, prompt: 'hi' } }), 401, 'UNAUTHENTICATED', 'no X-API-Key')
  expectError(t, await b.json('POST', '/api/inference', { body: { model: MODEL, prompt: 'hi' }, headers: { 'x-api-key': 'hi_not_a_real_key_at_all' } }), 401, 'UNAUTHENTICATED', 'unknown key')
  expectError(t, await b.json('POST', '/api/inference', { body: { model: MODEL }, headers: withKey }), 400, 'INVALID_ARGUMENT', 'neither prompt nor messages')
  expectError(t, await b.json('POST', '/api/inference', { body: { model: MODEL, prompt: 'x', maxTokens: 0 }, headers: withKey }), 400, 'INVALID_ARGUMENT', 'maxTokens 0')
  expectError(t, await b.json('POST', '/api/inference', { body: { model: 'no-such-model', prompt: 'x' }, headers: withKey }), 503, 'MODEL_UNAVAILABLE', 'unknown model')

  // A program with only a key (no cookies at all) needs no CSRF token.
  const program = new Browser(web.url)
  const plain = await program.json('POST', '/api/inference', { body: { model: MODEL, prompt: 'Say hello', maxTokens: 32 }, headers: withKey })
  t.equal(plain.status, 200, JSON.stringify(plain.body))
  t.equal(plain.body.text, 'Hello from the fake model, streamed in pieces.')
  t.ok(plain.body.usage.completionTokens > 0)

  const streamed = await program.request('POST', '/api/inference', { body: { model: MODEL, prompt: 'Say hello', maxTokens: 32, stream: true }, headers: withKey })
  t.equal(streamed.status, 200)
  t.match(streamed.headers.get('content-type'), /^text\/event-stream/)
  const events = (await streamed.text()).trim().split('\n\n').map(block => ({
    event: block.match(/^event: (.*)$/m)?.[1],
    data: JSON.parse(block.match(/^data: (.*)$/m)?.[1] ?? 'null')
  }))
  const tokens = events.filter(e => e.event === 'token')
  t.ok(tokens.length > 1, `tokens arrive as separate events (${tokens.length})`)
  t.equal(tokens.map(e => e.data.text).join(''), 'Hello from the fake model, streamed in pieces.')
  t.equal(events.at(-1)?.event, 'done', 'ends with the result')
  t.equal(events.at(-1)?.data.usage.completionTokens, plain.body.usage.completionTokens)

  const streamedError = await b.json('POST', '/api/inference', { body: { model: 'nope', prompt: 'x', stream: true }, headers: withKey })
  expectError(t, streamedError, 503, 'MODEL_UNAVAILABLE', 'an error before the first token keeps its status when streaming')

  const usage = await b.json('GET', '/api/usage?days=7&recent=5')
  t.equal(usage.status, 200)
  const today = usage.body.days.at(-1)
  t.equal(today.models[MODEL].requests, 2, 'both requests are in the usage log')
  const billed = usage.body.recent.filter((r: { billed?: boolean }) => r.billed !== false)
  t.equal(billed.length, 2)
  t.equal(billed[0].model, MODEL)
  t.equal(billed[0].status, 'OK')
  t.same(usage.body.recent.filter((r: { billed?: boolean }) => r.billed === false).map((r: { status: string }) => r.status), ['MODEL_UNAVAILABLE', 'MODEL_UNAVAILABLE'], 'the unserved-model requests are logged, not billed')
  expectError(t, await b.json('GET', '/api/usage?days=0'), 400, 'INVALID_ARGUMENT', 'days=0')
  expectError(t, await b.json('GET', '/api/usage?color=red'), 400, 'INVALID_ARGUMENT', 'unknown query')
  expectError(t, await new Browser(web.url).json('GET', '/api/usage'), 401, 'UNAUTHENTICATED', 'usage without session or key')
  t.equal((await program.json('GET', '/api/usage', { headers: withKey })).body.days.at(-1).requests, 2, 'usage by API key')

  const byKey = await program.json('GET', '/api/quota', { headers: withKey })
  t.equal(byKey.body.source, 'gateway')
  t.equal(byKey.body.requests.used, 2)
  t.equal(byKey.body.requests.limit, 100)
  t.equal(byKey.body.tokens.used, today.promptTokens + today.completionTokens)
  const bySession = await b.json('GET', '/api/quota')
  t.equal(bySession.body.source, 'usage')
  t.equal(bySession.body.requests.used, 2)
  t.equal(bySession.body.tokens.used, byKey.body.tokens.used, 'same tokens either way')
  const withLimits = await until('the web node\'s replica to know the plan', async () => {
    const { body } = await b.json('GET', '/api/quota')
    return typeof body.tokens.limit === 'number' && body
  }, { timeoutMs: 5_000 })
  t.equal(withLimits.tokens.limit, 100_000, 'plan limits from the replica')
  expectError(t, await new Browser(web.url).json('GET', '/api/quota'), 401, 'UNAUTHENTICATED', 'quota without anything')

  const status = await b.json('GET', '/api/status')
  t.equal(status.body.source, 'discovery', 'no metrics node here')
  t.same([...new Set(status.body.nodes.map((n: { role: string }) => n.role))].sort(), ['auth', 'gateway', 'inference', 'web'])
  t.same(status.body.nodes.find((n: { role: string }) => n.role === 'inference').models, [MODEL, 'gpt-fake-mini'].filter(m => m === MODEL))
  t.equal(status.body.nodes.find((n: { role: string }) => n.role === 'inference').approval, 'approved', 'the mesh page shows approval state: the auto-approved worker')

  // Admin: put alice on a plan of one request per hour -> 429 with Retry-After.
  const root = new Browser(web.url)
  await root.json('GET', '/api/auth/csrf')
  await root.json('POST', '/api/auth/register', { body: { username: 'root', email: 'root@example.com', password: PASSWORD } })
  await root.json('POST', '/api/auth/login', { body: { login: 'root', password: PASSWORD } })
  const users = await root.json('GET', '/api/admin/users')
  t.same(users.body.users.map((u: { username: string }) => u.username).sort(), ['alice', 'root'])
  expectError(t, await root.json('POST', '/api/admin/users/alice/plan', { body: { plan: 'Not A Plan' } }), 400, 'INVALID_ARGUMENT', 'bad plan name')
  expectError(t, await root.json('POST', '/api/admin/users/nobody/plan', { body: { plan: 'tiny' } }), 404, 'NOT_FOUND', 'unknown user')
  t.equal((await root.json('POST', '/api/admin/users/alice/plan', { body: { plan: 'tiny' } })).body.user.plan, 'tiny')
  const workers = await root.json('GET', '/api/admin/workers')
  t.equal(workers.body.workers.length, 1, 'the auto-approved worker')
  t.equal(workers.body.seen[0].approved, true)
  await platform.gateway.accounts.waitForSeq(platform.auth.store.accounts.version - 1, 5_000)
  const limited = await program.json('POST', '/api/inference', { body: { model: MODEL, prompt: 'again', maxTokens: 4 }, headers: withKey })
  expectError(t, limited, 429, 'RATE_LIMITED', 'over the plan')
  t.ok(Number(limited.headers.get('retry-after')) >= 1, `Retry-After: ${limited.headers.get('retry-after')}`)

  // Revocation reaches the gateway by replication: the key is refused.
  await b.json('DELETE', `/api/auth/api-keys/${key.id}`, { body: {} })
  const refused = await until('the revoked key to be refused', async () => {
    const res = await program.json('GET', '/api/quota', { headers: withKey })
    return res.status === 401 && res
  }, { timeoutMs: 5_000 })
  expectError(t, refused, 401, 'UNAUTHENTICATED', 'revoked key refused')
  expectError(t, await program.json('POST', '/api/inference', { body: { model: MODEL, prompt: 'x' }, headers: withKey }), 401, 'UNAUTHENTICATED', 'revoked key')
})

t.test('every error code of the mesh maps to its HTTP status', async t => {
  const mesh = await createTestMesh(t)
  const codes: [ErrorCode, number][] = [
    ['INVALID_ARGUMENT', 400], ['UNAUTHENTICATED', 401], ['FORBIDDEN', 403], ['NOT_FOUND', 404], ['CONFLICT', 409],
    ['RATE_LIMITED', 429], ['QUOTA_EXCEEDED', 429], ['UNAVAILABLE', 503], ['MODEL_UNAVAILABLE', 503], ['BUSY', 503],
    ['TIMEOUT', 504], ['INTERNAL', 500]
  ]
  // A stand-in gateway whose quota method fails with the code named in the key (or hangs).
  await mesh.node({
    role: 'gateway',
    methods: [unary(quota, async ({ apiKey }) => {
      const code = apiKey.slice('code-'.length) as ErrorCode
      if (code === 'HANG' as ErrorCode) await sleep(2_000)
      throw new HyperinferError(code, `failed with ${code}`, { retryAfterMs: 2_500 })
    })]
  })
  const web = await startWeb(t, { mesh }, { callTimeoutMs: 300, discoveryTimeoutMs: 500 })
  const b = new Browser(web.url)
  for (const [code, status] of codes) {
    const res = await b.json('GET', '/api/quota', { headers: { 'x-api-key': `code-${code}` } })
    expectError(t, res, status, code, code)
    if (['RATE_LIMITED', 'QUOTA_EXCEEDED', 'BUSY'].includes(code)) t.equal(res.headers.get('retry-after'), '3', `${code}: Retry-After in seconds`)
  }
  const slow = await b.json('GET', '/api/quota', { headers: { 'x-api-key': 'code-HANG' } })
  expectError(t, slow, 504, 'TIMEOUT', 'a gateway that does not answer in time')
  expectError(t, await b.json('GET', '/api/models'), 501, 'UNKNOWN_METHOD', 'a method the peer does not serve')

  b.cookies.set('hi_session', 'some.session.token')
  expectError(t, await b.json('GET', '/api/auth/me'), 503, 'UNAVAILABLE', 'no auth node on the mesh')
  const status = await b.json('GET', '/api/status')
  t.equal(status.status, 200, 'status works without a metrics node')
  t.same(status.body.nodes.map((n: { role: string }) => n.role).sort(), ['gateway', 'web'])
})
