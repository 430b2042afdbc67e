import { createRequire } from 'node:module'
import t from 'tap'
import { unary } from '../shared/mesh/rpc-server.js'
import { metrics as metricsMethod } from '../shared/schemas/mesh.js'
import { createMetricsNode } from '../services/metrics/role.js'
import { createTestMesh } from './helpers/mesh.js'
import { until } from './helpers/until.js'
import { startTestMetrics } from './helpers/metrics.js'

const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Array<{ name: string }>


function sampleValue (text: string, name: string, labels: string[]): number {
  const line = text.split('\n').find(l => l.startsWith(name + '{') && labels.every(label => l.includes(label)))
  return line ? Number(line.split(' ').pop()) : 0
}

t.test('nodes answering the scrape slowly or with garbage do not stall or break /metrics', async t => {
  const mesh = await createTestMesh(t, 'scrape-test')
  const good = await mesh.node({ role: 'gateway' })
  good.metrics.tokens.inc({ model: 'stories260K', kind: 'prompt' }, 42)
  // MeshNode serves `metrics` itself; a method of the same name in `methods` replaces it.
  const silent = await mesh.node({ role: 'web', methods: [unary(metricsMethod, () => new Promise<never>(() => {}))] })
  const garbage = await mesh.node({ role: 'auth', methods: [unary(metricsMethod, () => ({ contentType: 'text/plain', text: 'garbage {{{ not="metrics\n\u0000\u0001 ☃\n# TYPE x nonsense\n' }))] })
  const mixed = await mesh.node({
    role: 'inference',
    methods: [unary(metricsMethod, () => ({
      contentType: 'text/plain',
      text: '# TYPE ai_platform_tokens_total gauge\nai_platform_tokens_total{model="m",kind="prompt"} 1\n' +
        '# TYPE good_gauge gauge\ngood_gauge{x="1"} 5\nbroken{ 3\ngood_gauge{x="2"} 6 7 8\n'
    }))]
  })
  const metrics = await startTestMetrics(mesh, { scrapeTimeoutMs: 300 })
  const label = (node: { publicKey: Buffer }): string => `node="${node.publicKey.toString('hex').slice(0, 12)}"`

  const text = await until('every kind of scrape failure to be counted', async () => {
    const text = await (await fetch(`${metrics.url}/metrics`)).text()
    return sampleValue(text, 'ai_platform_scrape_errors_total', ['role="web"', 'reason="timeout"']) > 0 &&
      sampleValue(text, 'ai_platform_scrape_errors_total', ['role="auth"', 'reason="parse"']) > 0 &&
      sampleValue(text, 'good_gauge', [label(mixed)]) === 5 &&
      sampleValue(text, 'ai_platform_tokens_total', [label(good), 'kind="prompt"']) === 42 &&
      text
  })
  t.pass('/metrics kept answering while one node never answers its scrape')
  t.equal(sampleValue(text, 'ai_platform_tokens_total', [label(good), 'kind="prompt"']), 42, 'the good node is served')
  t.notMatch(text, /garbage \{\{\{|nonsense|☃/, 'nothing of the garbage passes through')
  t.notMatch(text, 'broken', 'a bad line of a partly good node is left out')
  t.equal(text.split('\n').filter(l => l.startsWith('good_gauge{')).length, 1, 'only the well-formed sample of the mixed node')
  t.notMatch(text, new RegExp(`ai_platform_tokens_total\\{[^}]*${label(mixed)}`), 'a family retyped by one node is dropped for that node')
  t.ok(sampleValue(text, 'ai_platform_scrape_skipped_lines_total', ['role="inference"']) >= 2, 'skipped lines are counted')
  t.doesNotThrow(() => parsePrometheus(text), 'still parses')
  t.ok(parsePrometheus(text).some(f => f.name === 'ai_platform_scrape_errors_total'))

  const health = metrics.systemHealth().nodes
  const statusOf = (node: { publicKey: Buffer }): unknown => health.find(n => n.publicKey === node.publicKey.toString('hex'))
  t.match(statusOf(silent), { role: 'web', status: 'degraded', scrape: { ok: false, error: /no answer within 300 ms/ } }, 'the silent node is degraded, not hidden')
  t.match(statusOf(garbage), { role: 'auth', status: 'degraded', scrape: { ok: false, error: /did not parse/ } })
  t.match(statusOf(good), { role: 'gateway', status: 'up', scrape: { ok: true } })
  t.match(statusOf(mixed), { role: 'inference', status: 'up', scrape: { ok: true } })
})
