import t from 'tap'
import { systemHealth, type MeshNodeHealth } from '../shared/schemas/metrics.js'
import { createMetricsNode } from '../services/metrics/role.js'
import type { StatusReport } from '../client-cli/commands/status.js'
import { runCli, writeTestDevnet } from './helpers/cli.js'
import { createTestMesh } from './helpers/mesh.js'
import { until } from './helpers/until.js'
import { startTestMetrics } from './helpers/metrics.js'


/** The auth node's count of `metrics` calls it answered, as the metrics node serves it. */
async function scrapesOf (url: string, node: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  const line = text.split('\n').find(l => l.startsWith('ai_platform_requests_total{') && l.includes('method="metrics"') && l.includes('status="OK"') && l.includes(`node="${node}"`))
  return line ? Number(line.split(' ').pop()) : 0
}

t.test('a stopped node shows as down with its last-seen time, in systemHealth and `hyperinfer status`; scraping goes on', async t => {
  const mesh = await createTestMesh(t, 'health-test')
  const auth = await mesh.node({ role: 'auth' })
  const worker = await mesh.node({ role: 'inference', healthCheck: () => ({ details: { models: ['stories260K', 'tiny'] } }) })
  const home = mesh.dir('cli-home')
  writeTestDevnet(home, mesh.network.name, mesh.bootstrap)
  const cli = { home, configDir: mesh.dir('cli-config') }
  // Before any metrics node runs, the CLI probes the DHT itself and says what to start.
  // (Checked first: a DHT node leaving a tiny testnet takes stored records with it.)
  const fallback = await runCli(['status', '--json', '--wait', '300'], cli)
  t.equal(fallback.code, 0, fallback.stderr)
  const direct = fallback.json<StatusReport>()
  t.equal(direct.source, 'discovery', 'without a metrics node the CLI probes the DHT itself')
  t.match(direct.note, /hyperinfer node metrics/, 'and says what to start')
  t.equal(direct.nodes.find(n => n.publicKey === auth.publicKey.toString('hex'))?.status, 'up', JSON.stringify(direct.nodes))
  t.same(direct.nodes.find(n => n.role === 'inference')?.models, ['stories260K', 'tiny'], JSON.stringify(direct.nodes))

  const metrics = await startTestMetrics(mesh)
  const workerId = worker.publicKey.toString('hex')
  const authNode = auth.publicKey.toString('hex').slice(0, 12)
  const byId = (nodes: MeshNodeHealth[], id: string): MeshNodeHealth | undefined => nodes.find(n => n.publicKey === id)

  await until('both nodes up and scraped', async () => {
    const { nodes } = metrics.systemHealth()
    return byId(nodes, workerId)?.scrape.ok && byId(nodes, auth.publicKey.toString('hex'))?.scrape.ok
  })
  t.same(byId(metrics.systemHealth().nodes, workerId)?.models, ['stories260K', 'tiny'])

  await worker.close()
  const down = await until('the worker to show as down', async () => {
    const report = await auth.client(metrics.node.publicKey).call(systemHealth, {})
    const node = byId(report.nodes, workerId)
    return node?.status === 'down' && { report, node }
  })
  t.equal(down.node.role, 'inference')
  t.ok(down.node.lastSeen !== null && Date.parse(down.node.lastSeen) <= Date.now(), 'keeps its last-seen time')
  t.ok(down.node.lastSeenAgoMs !== null && down.node.lastSeenAgoMs >= 0)
  t.equal(down.node.uptimeSeconds, null, 'no uptime for a node that is down')
  t.equal(down.report.status, 'degraded', 'the mesh as a whole is degraded')
  t.same(down.report.counts.inference, { up: 0, degraded: 0, down: 1 })

  // A node's count of answered scrapes shows up from the scrape after the one it answered.
  const before = await until('the auth node\'s scrape count', async () => await scrapesOf(metrics.url, authNode) || undefined)
  t.ok(before > 0, 'the auth node was scraped')
  await until('the auth node to be scraped again', async () => await scrapesOf(metrics.url, authNode) > before)
  const text = await (await fetch(`${metrics.url}/metrics`)).text()
  t.match(text, `ai_platform_node_up{node="${workerId.slice(0, 12)}",role="inference"} 0`, 'node_up says the worker is gone')
  t.notMatch(text, new RegExp(`process_cpu_user_seconds_total\\{node="${workerId.slice(0, 12)}"`), 'no stale samples of the stopped node')

  await until('the worker to be forgotten by discovery', async () => !metrics.node.discovery.known('inference').some(p => p.id === workerId), { timeoutMs: 10_000 })
  await metrics.collector.scrapeNow()
  t.equal(byId(metrics.systemHealth().nodes, workerId)?.status, 'down', 'still listed as down after discovery forgot it')

  const json = await runCli(['status', '--json', '--wait', '30000'], cli)
  t.equal(json.code, 0, json.stderr)
  const report = json.json<StatusReport>()
  t.equal(report.source, 'metrics')
  t.match(byId(report.nodes, workerId), { role: 'inference', status: 'down', models: ['stories260K', 'tiny'] })
  t.ok(typeof byId(report.nodes, workerId)?.lastSeenAgoMs === 'number')
  t.equal(byId(report.nodes, auth.publicKey.toString('hex'))?.status, 'up')

  const table = await runCli(['status', '--wait', '30000'], cli)
  t.equal(table.code, 0, table.stderr)
  t.match(table.stdout, /inference\s+\S+\s+down \(last seen \d+s ago\)/, 'the table says how long ago the node was last seen')
  t.match(table.stdout, /auth\s+\S+\s+up\s/)
})

t.test('a node whose health changes shows its new status from the next probe, not the next scrape round', async t => {
  const mesh = await createTestMesh(t, 'health-change-test')
  let status: 'up' | 'degraded' = 'degraded'
  const gateway = await mesh.node({ role: 'gateway', healthCheck: () => ({ status, details: { models: status === 'up' ? ['stories260K'] : [] } }) })
  // Scrape rounds far apart: only discovery's probes between them can carry the change.
  const metrics = await startTestMetrics(mesh, { scrapeIntervalMs: 600_000 })
  const id = gateway.publicKey.toString('hex')
  const statusOf = (): string | undefined => metrics.systemHealth().nodes.find(n => n.publicKey === id)?.status
  await until('the gateway to show as degraded', async () => statusOf() === 'degraded')
  const roundsBefore = await scrapesCount(metrics.url)
  status = 'up'
  await until('the gateway to show as up', async () => statusOf() === 'up', { timeoutMs: 120_000 })
  t.equal(metrics.systemHealth().status, 'up', 'the mesh as a whole is up')
  t.equal(await scrapesCount(metrics.url), roundsBefore, 'no scrape round ran in between')
})

/** How many scrapes of gateways the metrics node has made so far. */
async function scrapesCount (url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text()
  return text.split('\n').filter(l => /^ai_platform_scrape_duration_seconds_count\{[^}]*role="gateway"/.test(l)).reduce((n, l) => n + Number(l.split(' ').pop()), 0)
}
