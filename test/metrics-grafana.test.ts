import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { Registry } from 'prom-client'
import { platformMetrics } from '../shared/metrics.js'
import { scrapeMetrics } from '../services/metrics/own-metrics.js'

interface Panel { id: number, type: string, title: string, datasource: { type: string, uid: string }, gridPos: Record<string, number>, targets: Array<{ expr: string, refId: string, datasource: { uid: string } }> }
const dashboard = JSON.parse(readFileSync(new URL('../config/grafana/hyperinfer.json', import.meta.url), 'utf8')) as {
  uid: string, title: string, schemaVersion: number, panels: Panel[], templating: { list: Array<{ name: string, type: string, query: string }> }
}

t.test('the Grafana dashboard is a valid model over a Prometheus datasource variable', async t => {
  t.ok(dashboard.uid && dashboard.title && dashboard.schemaVersion >= 30)
  t.match(dashboard.templating.list, [{ name: 'datasource', type: 'datasource', query: 'prometheus' }])
  t.equal(new Set(dashboard.panels.map(p => p.id)).size, dashboard.panels.length, 'unique panel ids')
  for (const panel of dashboard.panels) {
    t.same(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, `${panel.title}: uses the datasource variable`)
    t.ok(panel.targets.length > 0 && panel.targets.every(target => target.datasource.uid === '${datasource}' && target.expr))
    t.ok(panel.gridPos.w > 0 && panel.gridPos.h > 0 && panel.gridPos.x + panel.gridPos.w <= 24)
  }
  const titles = dashboard.panels.map(p => p.title.toLowerCase()).join('|')
  for (const topic of ['requests', 'error rate', 'p50', 'first token', 'tokens/s', 'rate-limit', 'workers up']) t.match(titles, topic)
})

t.test('every query names a metric the mesh exports and parses as PromQL', async t => {
  const registry = new Registry()
  platformMetrics(registry)
  scrapeMetrics(registry)
  const exported = new Set((await registry.getMetricsAsJSON()).map(m => m.name))
  const exprs = dashboard.panels.flatMap(p => p.targets.map(target => target.expr))
  for (const expr of exprs) {
    const names = [...expr.matchAll(/\b(ai_platform_[a-z_]+?)(?:_bucket)?\b(?=[{[ )]|$)/g)].map(m => m[1])
    t.ok(names.length > 0 && names.every(name => exported.has(name)), `known metrics in: ${expr}`)
  }
  if (spawnSync('promtool', ['--version']).status !== 0) {
    t.comment('promtool not on PATH: PromQL syntax not checked')
    return
  }
  const rules = join(t.testdir(), 'rules.yml')
  const body = exprs.map((expr, i) => `      - record: hyperinfer:panel_${i}\n        expr: '${expr.replaceAll('$__rate_interval', '5m').replaceAll("'", "''")}'`).join('\n')
  writeFileSync(rules, `groups:\n  - name: dashboard\n    rules:\n${body}\n`)
  const check = spawnSync('promtool', ['check', 'rules', rules], { encoding: 'utf8' })
  t.equal(check.status, 0, `promtool check rules: ${check.stdout}${check.stderr}`.slice(0, 800))
})
