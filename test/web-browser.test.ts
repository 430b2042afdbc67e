import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { HyperinferClient } from '../client-cli/client.js'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { createMetricsNode } from '../services/metrics/role.js'
import { createWebNode } from '../services/web/role.js'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { launchBrowser } from './helpers/browser.js'
import { createPlatform, untilServed } from './helpers/platform.js'
import { until } from './helpers/until.js'

const MODEL = 'gpt-fake'
const REPLY = 'Once upon a time there was a tiny model on a mesh.'
const XSS = '<img src=x onerror=alert(1)>'

/** Page-side code in waitForFunction runs in the browser; the test's tsconfig has no DOM lib. */
declare const document: { querySelector (selector: string): { textContent: string | null, getAttribute (name: string): string | null } | null, querySelectorAll (selector: string): ArrayLike<unknown> & Iterable<unknown> }

t.test('a person registers, makes a key, uses it, sees it on the dashboard, revokes it; the mesh page lists every node', async t => {
  const browser = await launchBrowser(t)
  const { page } = browser
  const platform = await createPlatform(t)
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const fake = await startFakeOpenAI({ reply: REPLY, tokenDelayMs: 5 })
  t.teardown(() => fake.close())
  await platform.worker({ openaiBaseUrl: `${fake.url}/v1`, openaiModels: [MODEL] })
  const base = { network: platform.mesh.network, bootstrap: platform.mesh.bootstrap, refreshIntervalMs: 300 }
  const metrics = await createMetricsNode({ ...base, dataDir: platform.mesh.dir('metrics'), config: { port: 0, scrapeIntervalMs: 500 } })
  platform.mesh.closeLater(() => metrics.close())
  const web = await createWebNode({ ...base, dataDir: platform.mesh.dir('web'), config: { port: 0 } })
  platform.mesh.closeLater(() => web.close())
  await untilServed(platform.gateway, MODEL)

  // Register, then log in.
  await page.goto(`${web.url}/`)
  t.match(await page.textContent('h1'), /AI inference on a mesh you run/)
  await page.getByRole('link', { name: 'Create an account' }).click()
  await page.fill('#username', 'alice')
  await page.fill('#email', 'alice@example.com')
  await page.fill('#password', 'correct horse battery')
  await page.click('#submit')
  await page.waitForURL(/\/login\?registered=1/)
  t.equal(await page.inputValue('#login'), 'alice', 'the login form is filled in')
  await page.fill('#password', 'correct horse battery')
  await page.click('#submit')
  await page.waitForURL(/\/dashboard$/)
  await page.waitForSelector('#who strong')
  t.equal(await page.textContent('#who strong'), 'alice')

  // Create a key: shown once, then only its prefix.
  await page.click('nav >> text=API keys')
  await page.waitForURL(/\/keys$/)
  await page.fill('#key-name', 'laptop')
  await page.click('#create')
  await page.waitForSelector('#created:not([hidden])')
  const key = (await page.textContent('#new-key'))?.trim() ?? ''
  const prefix = (await page.textContent('#new-key-prefix'))?.trim() ?? ''
  t.ok(key.length > 20 && key.startsWith(prefix), 'the new key is shown with its prefix')
  t.match(await page.textContent('#created .alert'), /will not be shown again/)
  await page.waitForSelector(`#keys-body tr:has-text("laptop")`)
  await page.reload()
  await page.waitForSelector('#keys-body tr:has-text("laptop")')
  t.equal(await page.isVisible('#created'), false, 'after a reload the key is gone')
  t.notOk((await page.content()).includes(key), 'the page never shows the key again')
  t.equal(await page.textContent('#keys-body tr:has-text("laptop") .key-prefix'), `${prefix}…`, 'only the prefix is listed')

  // Use the key through the client library on the test mesh.
  const mesh = new MeshClient({ network: platform.mesh.network, bootstrap: platform.mesh.bootstrap })
  t.teardown(() => mesh.close())
  const client = new HyperinferClient({ apiKey: key, mesh })
  t.teardown(() => client.close())
  await platform.gateway.accounts.waitForSeq(platform.auth.store.accounts.version - 1, 5_000)
  const result = await client.infer({ model: MODEL, prompt: 'Tell me a story', maxTokens: 64 })
  t.equal(result.text, REPLY)

  // The dashboard shows it: chart data and the recent-requests table.
  await page.click('nav >> text=Dashboard')
  await page.waitForURL(/\/dashboard$/)
  await page.waitForSelector(`#recent-body tr:has-text("${MODEL}")`)
  const row = page.locator('#recent-body tr').first()
  t.equal(await row.locator('.model').textContent(), MODEL)
  t.match(await row.textContent(), /OK/)
  t.equal(await row.locator('td.num').nth(1).textContent(), String(result.usage.completionTokens), 'completion tokens of that request')
  t.equal(await page.getAttribute('#chart-requests', 'data-requests'), '1', 'the requests chart counts it')
  t.equal(await page.getAttribute('#chart-tokens', 'data-models'), MODEL, 'the tokens chart has a series for the model')
  t.equal(await page.getAttribute('#chart-tokens', 'data-tokens'), String(result.usage.totalTokens))
  t.equal(await page.locator('#chart-requests canvas').count(), 1, 'uPlot drew the chart')
  t.equal(await page.textContent('#stat-requests'), '1')
  t.match(await page.textContent('#quota-requests'), /^1 \/ 100$/, 'quota used vs limit')

  // Try it: the key created in this tab is ready; tokens stream into the box.
  await page.waitForSelector(`#try-model option[value="${MODEL}"]`, { state: 'attached' })
  t.equal(await page.inputValue('#try-key'), key, 'the key created in this tab is offered')
  await page.fill('#try-prompt', 'Once upon a time')
  await page.click('#try-send')
  await page.waitForFunction(text => document.querySelector('#try-output')?.textContent === text, REPLY)
  await page.waitForSelector('#try-meta:has-text("completion tokens")')
  await page.waitForFunction(() => document.querySelector('#chart-requests')?.getAttribute('data-requests') === '2')
  await browser.screenshot('dashboard')

  // An XSS attempt in a key name is only text.
  await page.goto(`${web.url}/keys`)
  await page.fill('#key-name', XSS)
  await page.click('#create')
  await page.waitForSelector('#created:not([hidden])')
  await page.waitForSelector('#keys-body tr:has-text("onerror")')
  t.equal(await page.textContent('#new-key-name'), XSS, 'shown as typed in the created panel')
  const names = await page.locator('#keys-body .key-name').allTextContents()
  t.ok(names.includes(XSS), 'the name is visible as text in the table')
  t.equal(await page.locator('#keys-body img, #created img').count(), 0, 'no element was made from it')
  await sleep(200)
  t.same(browser.dialogs.map(d => d.message()), [], 'no dialog fired')
  await page.click('#created .btn#copy')
  await browser.screenshot('keys')

  // Revoke the first key (with an inline confirmation); the client is then refused.
  const laptopRow = page.locator('#keys-body tr:has-text("laptop")')
  await laptopRow.locator('text=Revoke').click()
  t.match(await laptopRow.textContent(), /Programs using it stop working/, 'asks first')
  await laptopRow.locator('[data-confirm="revoke"]').click()
  await page.waitForSelector('#keys-body tr:has-text("laptop") .badge:has-text("revoked")')
  const refused = await until('the revoked key to be refused', () => client.quota().then(() => null, (err: { code?: string }) => err), { timeoutMs: 15_000 })
  t.equal(refused.code, 'UNAUTHENTICATED', 'the revoked key is refused')
  await t.rejects(client.infer({ model: MODEL, prompt: 'again', maxTokens: 4 }).result, { code: 'UNAUTHENTICATED' })

  // The mesh page lists every node of the test mesh, from the metrics node.
  await page.click('nav >> text=Mesh')
  await page.waitForURL(/\/mesh$/)
  const roles = ['auth', 'gateway', 'inference', 'metrics', 'web']
  await page.waitForFunction(wanted => {
    const rows = [...document.querySelectorAll('#nodes-body tr[data-role]')].map(tr => (tr as { dataset: Record<string, string> }).dataset.role)
    return wanted.every(role => rows.includes(role)) && document.querySelector('#source')?.textContent?.includes('metrics node')
  }, roles, { timeout: 60_000 })
  const listed = await page.locator('#nodes-body tr[data-role]').evaluateAll(rows => rows.map(tr => (tr as { dataset: Record<string, string> }).dataset.role))
  t.same([...new Set(listed)].sort(), roles, 'every role of the test mesh')
  t.equal(listed.length, 5, 'one node of each')
  t.match(await page.textContent('#nodes-body tr[data-role="inference"] .models'), MODEL, 'the worker with its model')
  // Every node answers (none down); a node may show 'degraded' here, e.g. while the test mesh's
  // metrics node is not approved to scrape the nodes that now refuse unapproved scrapers.
  await page.waitForFunction(() => [...document.querySelectorAll('#nodes-body tr[data-role]')].every(tr => ['up', 'degraded'].includes((tr as { dataset: Record<string, string> }).dataset.status)), undefined, { timeout: 60_000 })
  t.comment(`mesh page statuses: ${JSON.stringify(await page.locator('#nodes-body tr[data-role]').evaluateAll(rows => rows.map(tr => `${(tr as { dataset: Record<string, string> }).dataset.role}=${(tr as { dataset: Record<string, string> }).dataset.status}`)))}`)
  await browser.screenshot('mesh')

  t.same(browser.pageErrors, [], 'no script errors and no CSP violations on any page')
})
