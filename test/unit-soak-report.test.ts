import t from 'tap'
import { MODEL_BASELINE, soakReport } from '../scripts/soak-report.js'
import type { Sample } from '../scripts/soak-samples.js'

const MB = 1024 * 1024
const BOUNDS = { maxCpu: 1, maxRss: 120, maxHeapGrowth: 5, rps: 1 }

/** Samples a minute apart over ten minutes at a steady CPU share (% of a core), RSS and heap. */
function steady (role: string, cpuPercent: number, rssMb = 90, heapMb: number | null = 20): Sample[] {
  return Array.from({ length: 11 }, (_, i) => ({
    key: role,
    role,
    node: `${role}-node`,
    at: i * 60_000,
    cpuSeconds: i * 60 * cpuPercent / 100,
    rssBytes: rssMb * MB,
    heapAfterGcBytes: heapMb === null ? null : heapMb * MB
  }))
}

const LOAD = { sent: 600, ok: 600, failed: 0, failures: [] }

t.test('the inference node is judged net of the model baseline; other nodes on their whole CPU', async t => {
  const series = new Map([
    ['gateway', steady('gateway', 0.8)],
    ['inference', steady('inference', 1.9)],
    [MODEL_BASELINE, steady(MODEL_BASELINE, 1.0, 80, null)]
  ])
  const verdict = soakReport(series, LOAD, BOUNDS)
  t.equal(verdict.ok, true, '1.9% less 1.0% of model work is within 1%')
  t.match(verdict.text, /\| inference +\| [^|]+\| 11 +\| 1\.90 +\| 0\.90 +\|/, 'the table shows the whole CPU and the CPU net of the model')
  t.match(verdict.text, /model alone[^\n]*not a node: not judged/, 'the baseline is listed, not judged')
  t.match(verdict.text, /1\.00% of a core/, 'the model baseline figure is printed')
})

t.test('an inference node that adds more than the bound to the model fails, and so does any other node over it', async t => {
  const series = new Map([
    ['gateway', steady('gateway', 1.2)],
    ['inference', steady('inference', 2.3)],
    [MODEL_BASELINE, steady(MODEL_BASELINE, 1.0, 80, null)]
  ])
  const verdict = soakReport(series, LOAD, BOUNDS)
  t.equal(verdict.ok, false)
  t.match(verdict.text, /\| gateway [^\n]*\| CPU > 1% +\|/)
  t.match(verdict.text, /\| inference [^\n]*\| CPU net of model > 1% +\|/)
})

t.test('without a baseline (an idle soak) the inference node is judged on its whole CPU', async t => {
  const verdict = soakReport(new Map([['inference', steady('inference', 1.5)]]), null, { ...BOUNDS, rps: 0 })
  t.equal(verdict.ok, false)
  t.match(verdict.text, /\| inference +\| [^|]+\| 11 +\| 1\.50 +\| - +\|[^\n]*CPU > 1%/)
  t.notMatch(verdict.text, /model alone/)
})

t.test('RSS, heap growth and failed requests fail the soak', async t => {
  const growing = steady('web', 0.5).map((s, i) => ({ ...s, heapAfterGcBytes: (20 + 2 * i) * MB }))
  const verdict = soakReport(new Map([['auth', steady('auth', 0.5, 130)], ['web', growing]]), { ...LOAD, ok: 599, failed: 1, failures: ['TIMEOUT: slow'] }, BOUNDS)
  t.equal(verdict.ok, false)
  t.match(verdict.text, /\| auth [^\n]*RSS > 120 MB/)
  t.match(verdict.text, /\| web [^\n]*heap grew > 5 MB/)
  t.match(verdict.text, /599 ok, 1 failed of 600 requests \(first failures: TIMEOUT: slow\)/)
})
