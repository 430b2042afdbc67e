// Usage charts with uPlot (served by the web node itself).
import uPlot from '/assets/vendor/uplot/uPlot.esm.js'

const PALETTE = ['#4f46e5', '#059669', '#d97706', '#db2777', '#0891b2', '#7c3aed', '#65a30d', '#dc2626']
const DAY_S = 86400

/** The last `n` UTC days as 'YYYY-MM-DD', oldest first. */
export function lastDays (n) {
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate())
  return Array.from({ length: n }, (_, i) => new Date(today - (n - 1 - i) * DAY_S * 1000).toISOString().slice(0, 10))
}

const axes = (yLabel) => [
  { stroke: '#6b7280', grid: { stroke: '#f1f2f6' }, ticks: { stroke: '#e5e7eb' }, values: (u, ticks) => ticks.map(t => new Date(t * 1000).toLocaleDateString('en-US', { month: 'short', day: 'numeric', timeZone: 'UTC' })) },
  { stroke: '#6b7280', grid: { stroke: '#f1f2f6' }, ticks: { stroke: '#e5e7eb' }, label: yLabel, size: 56, values: (u, ticks) => ticks.map(t => Number.isInteger(t) ? t.toLocaleString('en-US') : '') }
]

const charts = new Map()

function draw (el, opts, data) {
  charts.get(el)?.destroy()
  const chart = new uPlot({ width: Math.max(280, el.clientWidth), height: 240, ...opts }, data, el)
  charts.set(el, chart)
}

addEventListener('resize', () => {
  for (const [el, chart] of charts) chart.setSize({ width: Math.max(280, el.clientWidth), height: 240 })
})

function xScale (days) {
  const xs = days.map(d => Date.parse(d + 'T00:00:00Z') / 1000)
  return { xs, range: [xs[0] - DAY_S / 2, xs[xs.length - 1] + DAY_S / 2] }
}

/** Bars of requests per day. */
export function requestsChart (el, days, byDay) {
  const { xs, range } = xScale(days)
  const ys = days.map(d => byDay.get(d)?.requests ?? 0)
  el.dataset.requests = String(ys.reduce((a, b) => a + b, 0))
  draw(el, {
    scales: { x: { time: true, range }, y: { range: (u, min, max) => [0, Math.max(4, Math.ceil(max * 1.2))] } },
    axes: axes('requests'),
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    series: [
      { label: 'Day', value: (u, v) => v === null ? '—' : new Date(v * 1000).toISOString().slice(0, 10) },
      { label: 'Requests', stroke: PALETTE[0], fill: 'rgba(79, 70, 229, .75)', width: 0, paths: uPlot.paths.bars({ size: [0.6, 48] }), points: { show: false } }
    ]
  }, [xs, ys])
}

/** One line per model of tokens (prompt + completion) per day. */
export function tokensChart (el, days, byDay) {
  const { xs, range } = xScale(days)
  const models = [...new Set(days.flatMap(d => Object.keys(byDay.get(d)?.models ?? {})))].sort()
  const series = models.map(model => days.map(d => {
    const m = byDay.get(d)?.models?.[model]
    return m ? m.promptTokens + m.completionTokens : 0
  }))
  el.dataset.models = models.join(',')
  el.dataset.tokens = String(series.flat().reduce((a, b) => a + b, 0))
  draw(el, {
    scales: { x: { time: true, range }, y: { range: (u, min, max) => [0, Math.max(10, Math.ceil(max * 1.2))] } },
    axes: axes('tokens'),
    cursor: { drag: { x: false, y: false } },
    series: [
      { label: 'Day', value: (u, v) => v === null ? '—' : new Date(v * 1000).toISOString().slice(0, 10) },
      ...(models.length ? models : ['no usage yet']).map((model, i) => ({
        label: model, stroke: PALETTE[i % PALETTE.length], width: 2, points: { show: true, size: 7, fill: PALETTE[i % PALETTE.length] }
      }))
    ]
  }, [xs, ...(series.length ? series : [days.map(() => 0)])])
}
