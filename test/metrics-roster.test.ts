import t from 'tap'
import { loadConfig } from '../shared/config/load-config.js'
import type { PeerInfo } from '../shared/mesh/discovery.js'
import { startMetricsHttp } from '../services/metrics/http.js'
import { describe, Roster, statusOf } from '../services/metrics/roster.js'

const KEY = Buffer.alloc(32, 7)
const health = { role: 'inference' as const, version: '0.1.0', publicKey: KEY.toString('hex'), status: 'up' as const, uptimeSeconds: 100, startedAt: new Date(0).toISOString(), details: { models: ['a', { name: 'b' }, 3] } }
const peer = (at: number, status: 'up' | 'down' = 'up'): PeerInfo => ({ publicKey: KEY, id: KEY.toString('hex'), role: 'inference', status, lastSeen: at, failures: 0, health })

t.test('roster: down nodes stay listed for the retention, stale samples expire, uptime runs on', async t => {
  let now = 1_000_000
  const roster = new Roster({ downRetentionMs: 10 * 60_000, now: () => now })
  roster.up(peer(now))
  roster.scraped(KEY.toString('hex'), [{ name: 'x', type: 'gauge', samples: [{ name: 'x', labels: [], value: '1' }] }])
  now += 1_000
  roster.scrapeFailed(KEY.toString('hex'), 'TIMEOUT: slow')
  const [record] = roster.all()
  t.equal(statusOf(record), 'degraded', 'a failed scrape of a live node: degraded')
  t.equal(roster.fresh(5_000).length, 1, 'last good samples kept a little while')
  now += 10_000
  t.equal(roster.fresh(5_000).length, 0, 'then dropped')
  t.match(describe(record, now), { status: 'degraded', uptimeSeconds: 111, models: ['a', 'b'], scrape: { ok: false, error: 'TIMEOUT: slow' } })

  roster.sync('inference', [])
  t.equal(statusOf(record), 'down', 'forgotten by discovery: down')
  t.equal(record.families.length, 0, 'no samples of a down node')
  t.match(describe(record, now), { status: 'down', uptimeSeconds: null, lastSeen: new Date(1_000_000).toISOString(), lastSeenAgoMs: 11_000 })
  now += 9 * 60_000
  t.same(roster.prune(), [], 'kept before the retention ends')
  now += 2 * 60_000
  t.same(roster.prune().map(r => r.role), ['inference'], 'forgotten after it')
  t.same(roster.all(), [])

  roster.up(peer(now))
  roster.sync('inference', [peer(now, 'down')])
  t.equal(statusOf(roster.all()[0]), 'down', 'discovery saying down is down')
})

t.test('HTTP: /ready is 503 until the first scrape; METRICS_PORT configures the port', async t => {
  let ready = false
  const http = await startMetricsHttp({ exposition: async () => 'x 1\n', health: () => health, get ready () { return ready } }, { host: '127.0.0.1', port: 0 })
  t.teardown(() => http.close())
  t.equal((await fetch(`${http.url}/ready`)).status, 503)
  ready = true
  t.equal((await fetch(`${http.url}/ready`)).status, 200)
  t.equal(await (await fetch(`${http.url}/metrics`)).text(), 'x 1\n')
  const config = loadConfig({ env: { HYPERINFER_HOME: t.testdir(), METRICS_PORT: '0', METRICS_SCRAPE_INTERVAL_MS: '250' } })
  t.match(config.metrics, { host: '127.0.0.1', port: 0, scrapeIntervalMs: 250, downRetentionMs: 600_000 })
  t.throws(() => loadConfig({ env: { METRICS_PORT: '70000' } }), { code: 'INVALID_ARGUMENT', message: /metrics\.port/ })
})
