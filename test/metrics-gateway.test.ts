import t from 'tap'
import { MeshClient } from '../shared/mesh/mesh-client.js'
import { infer, usage } from '../shared/schemas/gateway.js'
import { createMetricsNode } from '../services/metrics/role.js'
import { startFakeOpenAI } from '../scripts/fakes/openai-server.js'
import { createPlatform, untilServed } from './helpers/platform.js'
import { until } from './helpers/until.js'

// The worker's backend is not what is tested here: a fake OpenAI upstream starts at once, where
// llama.cpp costs seconds per test process (its import and a forked binding self-test).
const MODEL = 'gpt-fake'
const REQUESTS_PER_HOUR = 4

/** The value of every sample of `name` whose line carries all of `labels`, summed. */
function sum (text: string, name: string, labels: string[]): number {
  return text.split('\n')
    .filter(line => line.startsWith(name + '{') && labels.every(label => line.includes(label)))
    .reduce((acc, line) => acc + Number(line.split(' ').pop()), 0)
}

t.test('after N inference requests through a real gateway, /metrics counts them exactly', async t => {
  const platform = await createPlatform(t, { auth: { plans: { default: { requestsPerHour: REQUESTS_PER_HOUR, tokensPerDay: 1_000_000 } } } })
  process.env.OPENAI_API_KEY ??= 'sk-test'
  const fake = await startFakeOpenAI()
  platform.mesh.closeLater(() => fake.close())
  await platform.worker({ openaiBaseUrl: `${fake.url}/v1`, openaiModels: [MODEL] })
  await untilServed(platform.gateway, MODEL)
  const { key } = await platform.user('carol')
  const metrics = await createMetricsNode({
    dataDir: platform.mesh.dir('metrics'),
    network: platform.mesh.network,
    bootstrap: platform.mesh.bootstrap,
    refreshIntervalMs: 300,
    config: { port: 0, scrapeIntervalMs: 200 }
  })
  platform.mesh.closeLater(() => metrics.close())

  const mesh = new MeshClient({ network: platform.mesh.network, bootstrap: platform.mesh.bootstrap })
  t.teardown(() => mesh.close())
  const gateway = mesh.client(platform.gateway.node.publicKey)
  const outcomes: Record<string, number> = {}
  const plan = ['no-such-model', MODEL, MODEL, 'no-such-model', MODEL, MODEL, MODEL, MODEL]
  for (const model of plan) {
    const status = await gateway.stream(infer, { apiKey: key.key, model, prompt: 'Once upon a time', maxTokens: 6, temperature: 0 }).result
      .then(() => 'OK', (err: { code: string }) => err.code)
    outcomes[status] = (outcomes[status] ?? 0) + 1
  }
  t.same(outcomes, { MODEL_UNAVAILABLE: 2, OK: REQUESTS_PER_HOUR, RATE_LIMITED: plan.length - 2 - REQUESTS_PER_HOUR }, 'successes, rate limited, unknown model')
  // The final records settle in the group commit after each answer: wait until the log holds every billed request.
  const billed = await until('the usage log to settle every billed request', async () => {
    const recorded = await gateway.call(usage, { apiKey: key.key, days: 1, recent: 0 })
    return recorded.days[0]?.requests === REQUESTS_PER_HOUR && recorded.days[0]
  })

  const gatewayNode = `node="${platform.gateway.node.publicKey.toString('hex').slice(0, 12)}"`
  const inferLabels = ['service="gateway"', 'method="gateway.infer"', gatewayNode, 'role="gateway"']
  const text = await until('a scrape holding every request and the billed tokens', async () => {
    const scraped = await (await fetch(`${metrics.url}/metrics`)).text()
    return sum(scraped, 'ai_platform_requests_total', inferLabels) === plan.length &&
      sum(scraped, 'ai_platform_tokens_total', ['role="gateway"', 'kind="completion"']) === billed.completionTokens && scraped
  }, { everyMs: 100 })
  for (const [status, count] of Object.entries(outcomes)) {
    t.equal(sum(text, 'ai_platform_requests_total', [...inferLabels, `status="${status}"`]), count, `${count} × ${status}`)
  }
  t.equal(sum(text, 'ai_platform_request_duration_seconds_count', inferLabels), plan.length, 'histogram counts add up to N')
  t.equal(sum(text, 'ai_platform_request_duration_seconds_bucket', [...inferLabels, 'le="+Inf"']), plan.length, '+Inf buckets too')
  t.equal(sum(text, 'ai_platform_tokens_total', ['role="gateway"', `model="${MODEL}"`, 'kind="prompt"']), billed.promptTokens, 'prompt tokens = usage recorded by the gateway')
  t.equal(sum(text, 'ai_platform_tokens_total', ['role="gateway"', `model="${MODEL}"`, 'kind="completion"']), billed.completionTokens, 'completion tokens = usage recorded by the gateway')
  t.ok(billed.completionTokens > 0)
  t.equal(sum(text, 'ai_platform_rate_limit_violations_total', ['role="gateway"', 'plan="default"', 'kind="requests"']), outcomes.RATE_LIMITED, 'rate-limit hits')
  t.equal(sum(text, 'ai_platform_time_to_first_token_seconds_count', ['role="gateway"', `model="${MODEL}"`]), REQUESTS_PER_HOUR, 'TTFT per success')
  t.ok(sum(text, 'ai_platform_node_up', ['role="inference"']) >= 1, 'the worker is up')
  t.notMatch(text, key.key, 'no API key anywhere in /metrics')
})
