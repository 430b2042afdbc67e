import { spawnSync } from 'node:child_process'
import { createRequire } from 'node:module'
import t from 'tap'
import { z } from 'zod'
import { HyperinferError } from '../shared/errors.js'
import { defineMethod } from '../shared/mesh/method.js'
import { unary } from '../shared/mesh/rpc-server.js'
import { systemHealth } from '../shared/schemas/metrics.js'
import { createMetricsNode } from '../services/metrics/role.js'
import { createTestMesh } from './helpers/mesh.js'
import { until } from './helpers/until.js'
import { startTestMetrics } from './helpers/metrics.js'

interface PromMetric { labels?: Record<string, string>, value?: string, buckets?: Record<string, string>, count?: string, sum?: string }
interface PromFamily { name: string, help: string, type: string, metrics: PromMetric[] }
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => PromFamily[]

/** A stand-in for the gateway's inference method: rate limits, unknown models, token usage. */
const infer = defineMethod('test.infer', {
  request: z.strictObject({ model: z.string().max(64), prompt: z.string().max(1000) }),
  response: z.object({ promptTokens: z.number(), completionTokens: z.number() })
})
const KNOWN_MODEL = 'stories260K'
const ALLOWED_PER_WINDOW = 5


function find (families: PromFamily[], name: string, labels: Record<string, string>): PromMetric[] {
  const family = families.find(f => f.name === name)
  return (family?.metrics ?? []).filter(m => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v))
}

/**
 * Histogram `_count` series straight from the text: parse-prometheus-text-format folds the buckets
 * of labelled histograms into one entry and loses their counts.
 */
function histogramCounts (text: string, name: string, labels: Record<string, string>): Array<{ labels: string, count: number }> {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  return text.split('\n')
    .map(line => new RegExp(`^${name}_count\\{(.*)\\} (\\S+)$`).exec(line))
    .filter((m): m is RegExpExecArray => m !== null && wanted.every(label => m[1].split(',').includes(label)))
    .map(m => ({ labels: m[1], count: Number(m[2]) }))
}

/** promtool's lint findings that come from prom-client's standard default metrics, not from the merge. */
const PROM_CLIENT_DEFAULT_LINTS = /^nodejs_active_(handles|requests|resources)_total non-counter metrics should not have "_total" suffix$/

function total (metrics: PromMetric[]): number {
  return metrics.reduce((sum, m) => sum + Number(m.value ?? m.count ?? 0), 0)
}

t.test('the metrics node merges every node\'s registry into one valid /metrics with exact counts', async t => {
  const mesh = await createTestMesh(t)
  const usage: Array<{ model: string, promptTokens: number, completionTokens: number }> = []
  let admitted = 0
  const gateway = await mesh.node({
    role: 'gateway',
    methods: [unary(infer, ({ model, prompt }, ctx) => {
      ctx.setModel(model)
      if (model !== KNOWN_MODEL) throw new HyperinferError('MODEL_UNAVAILABLE', `no worker serves ${model}`)
      if (++admitted > ALLOWED_PER_WINDOW) {
        gateway.metrics.rateLimitViolations.inc({ plan: 'default', kind: 'requests' })
        throw new HyperinferError('RATE_LIMITED', 'slow down', { retryAfterMs: 1000 })
      }
      const record = { model, promptTokens: prompt.split(' ').length, completionTokens: 7 }
      usage.push(record)
      gateway.metrics.tokens.inc({ model, kind: 'prompt' }, record.promptTokens)
      gateway.metrics.tokens.inc({ model, kind: 'completion' }, record.completionTokens)
      gateway.metrics.timeToFirstToken.observe({ model }, 0.01)
      return { promptTokens: record.promptTokens, completionTokens: record.completionTokens }
    })]
  })
  const worker = await mesh.node({ role: 'inference', healthCheck: () => ({ details: { models: [KNOWN_MODEL] } }) })
  worker.metrics.workers.set({ model: KNOWN_MODEL, state: 'idle' }, 1)
  const metrics = await startTestMetrics(mesh)

  const client = (await mesh.node({ role: 'web' })).client(gateway.publicKey)
  const prompts = ['once upon a time', 'hello', 'a b c d e', 'the end']
  const outcomes: Record<string, number> = {}
  const N = 12
  for (let i = 0; i < N; i++) {
    const model = i % 3 === 2 ? 'no-such-model' : KNOWN_MODEL
    const status = await client.call(infer, { model, prompt: prompts[i % prompts.length] }).then(() => 'OK', (err: HyperinferError) => err.code)
    outcomes[status] = (outcomes[status] ?? 0) + 1
  }
  t.same(outcomes, { OK: 5, RATE_LIMITED: 3, MODEL_UNAVAILABLE: 4 }, 'the mix of outcomes the test means to count')

  const gatewayNode = gateway.publicKey.toString('hex').slice(0, 12)
  const { text, families, response } = await until('the scrape to show every request', async () => {
    const response = await fetch(`${metrics.url}/metrics`)
    const text = await response.text()
    const families = parsePrometheus(text)
    const seen = total(find(families, 'ai_platform_requests_total', { method: 'test.infer', node: gatewayNode }))
    const everyNode = find(families, 'process_cpu_user_seconds_total', {}).length === 4
    return seen === N && everyNode && find(families, 'ai_platform_workers', { role: 'inference' }).length > 0 && { text, families, response }
  })

  t.equal(response.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8')
  for (const [status, count] of Object.entries(outcomes)) {
    t.equal(total(find(families, 'ai_platform_requests_total', { service: 'gateway', method: 'test.infer', status, node: gatewayNode, role: 'gateway' })), count, `${count} requests counted as ${status}`)
  }
  const durations = histogramCounts(text, 'ai_platform_request_duration_seconds', { method: 'test.infer', role: 'gateway', node: gatewayNode })
  t.equal(durations.reduce((acc, d) => acc + d.count, 0), N, 'histogram counts add up to N')
  t.same(durations.map(d => /model="([^"]*)"/.exec(d.labels)?.[1]).sort(), ['no-such-model', KNOWN_MODEL], 'latency by model')
  t.ok(families.some(f => f.name === 'ai_platform_request_duration_seconds' && f.type === 'HISTOGRAM'), 'parsed as a histogram')
  const sum = (kind: 'promptTokens' | 'completionTokens'): number => usage.reduce((acc, u) => acc + u[kind], 0)
  t.equal(total(find(families, 'ai_platform_tokens_total', { model: KNOWN_MODEL, kind: 'prompt' })), sum('promptTokens'), 'prompt tokens equal recorded usage')
  t.equal(total(find(families, 'ai_platform_tokens_total', { model: KNOWN_MODEL, kind: 'completion' })), sum('completionTokens'), 'completion tokens equal recorded usage')
  t.equal(total(find(families, 'ai_platform_rate_limit_violations_total', { plan: 'default', kind: 'requests' })), 3, 'rate-limit hits')
  t.equal(histogramCounts(text, 'ai_platform_time_to_first_token_seconds', { model: KNOWN_MODEL }).reduce((acc, d) => acc + d.count, 0), 5, 'TTFT observed per success')
  t.equal(total(find(families, 'ai_platform_workers', { model: KNOWN_MODEL, state: 'idle', role: 'inference' })), 1, 'worker gauge of the inference node')

  const typeLines = text.split('\n').filter(line => line.startsWith('# TYPE '))
  t.equal(new Set(typeLines).size, typeLines.length, 'TYPE once per family')
  t.equal(typeLines.length, families.length, 'one TYPE line per parsed family')
  const selfNode = metrics.node.publicKey.toString('hex').slice(0, 12)
  t.ok(find(families, 'process_cpu_user_seconds_total', { node: selfNode, role: 'metrics' }).length === 1, 'the metrics node\'s own families are included')
  t.equal(find(families, 'process_cpu_user_seconds_total', {}).length, 4, 'process metrics of all four nodes under one family')
  t.equal(total(find(families, 'ai_platform_node_up', { node: gatewayNode, role: 'gateway' })), 1, 'node_up for the gateway')
  t.equal(total(find(families, 'ai_platform_node_up', { node: worker.publicKey.toString('hex').slice(0, 12), role: 'inference' })), 1, 'node_up for the worker')
  t.notMatch(text, /user(_?id)?="/, 'no user labels')

  if (spawnSync('promtool', ['--version']).status === 0) {
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' })
    const problems = `${check.stdout}\n${check.stderr}`.split('\n').map(line => line.trim()).filter(Boolean)
    const ours = problems.filter(line => !PROM_CLIENT_DEFAULT_LINTS.test(line))
    t.ok(check.status === 0 || (check.status === 3 && ours.length === 0), `promtool check metrics: parses, no lint findings beyond prom-client's default names (exit ${check.status}${ours.length ? ': ' + ours.join('; ').slice(0, 500) : ''})`)
  } else {
    t.comment('promtool not on PATH: skipped promtool check metrics')
  }

  const ready = await fetch(`${metrics.url}/ready`)
  t.equal(ready.status, 200, 'ready after the first scrape')
  const health = await (await fetch(`${metrics.url}/health`)).json() as { role: string, status: string }
  t.match(health, { role: 'metrics', status: 'up' })

  const report = await gateway.client(metrics.node.publicKey).call(systemHealth, {})
  const byRole = Object.fromEntries(report.nodes.map(n => [n.role, n]))
  t.same(Object.keys(byRole).sort(), ['gateway', 'inference', 'metrics', 'web'], 'every node listed')
  t.same(byRole.inference.models, [KNOWN_MODEL], 'models the worker serves')
  t.equal(byRole.inference.status, 'up')
  t.equal(byRole.inference.version, '0.1.0')
  t.ok(byRole.metrics.self, 'the metrics node lists itself')
  t.equal(report.status, 'up')
})
