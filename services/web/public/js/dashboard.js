import { api, csrfToken, requireUser } from './lib/api.js'
import { lastDays, requestsChart, tokensChart } from './lib/charts.js'
import { $, fmtDate, fmtMs, fmtNumber, h, replaceChildren, showError } from './lib/dom.js'
import { initShell } from './lib/shell.js'
import { readEvents } from './lib/sse.js'

const DAYS = 14
const LAST_KEY = 'hyperinfer.lastKey'

initShell()
const user = await requireUser()
$('#greeting').textContent = `Hello ${user.username} — your usage over the last ${DAYS} days on the ${user.plan} plan.`
setupTry()
await refresh()
$('#refresh').addEventListener('click', () => refresh())
setInterval(() => { if (!document.hidden) refresh() }, 15_000)

async function refresh () {
  const error = $('#load-error')
  try {
    const [usage, quota] = await Promise.all([
      api('GET', `/api/usage?days=${DAYS}&recent=20`),
      api('GET', '/api/quota')
    ])
    error.hidden = true
    render(usage, quota)
    $('#updated').textContent = `Updated ${new Date().toLocaleTimeString('en-US')}`
  } catch (err) {
    showError(error, err)
  }
}

function render (usage, quota) {
  const days = lastDays(DAYS)
  const byDay = new Map(usage.days.map(d => [d.day, d]))
  const today = byDay.get(days[days.length - 1])
  const totalRequests = usage.days.reduce((n, d) => n + d.requests, 0)
  const totalTokens = usage.days.reduce((n, d) => n + d.promptTokens + d.completionTokens, 0)

  $('#stat-requests').textContent = fmtNumber(today?.requests ?? 0)
  $('#stat-requests-sub').textContent = `${fmtNumber(totalRequests)} in ${DAYS} days`
  $('#stat-tokens').textContent = fmtNumber(today ? today.promptTokens + today.completionTokens : 0)
  $('#stat-tokens-sub').textContent = today ? `${fmtNumber(today.promptTokens)} prompt · ${fmtNumber(today.completionTokens)} completion` : 'nothing yet today'
  meter('requests', quota.requests.used, quota.requests.limit, 'per hour')
  meter('tokens', quota.tokens.used, quota.tokens.limit, 'per day, resets at 00:00 UTC')

  $('#requests-total').textContent = `${fmtNumber(totalRequests)} total`
  $('#tokens-total').textContent = `${fmtNumber(totalTokens)} total`
  requestsChart($('#chart-requests'), days, byDay)
  tokensChart($('#chart-tokens'), days, byDay)
  renderByModel(usage.days)
  renderRecent(usage.recent)
}

function meter (name, used, limit, unit) {
  $(`#quota-${name}`).textContent = limit === null ? fmtNumber(used) : `${fmtNumber(used)} / ${fmtNumber(limit)}`
  const share = limit ? Math.min(1, used / limit) : 0
  const bar = $(`#quota-${name}-meter`)
  bar.firstElementChild.style.width = `${(share * 100).toFixed(1)}%`
  bar.classList.toggle('warn', share >= 0.75 && share < 0.95)
  bar.classList.toggle('bad', share >= 0.95)
  $(`#quota-${name}-sub`).textContent = limit === null ? unit : `${fmtNumber(Math.max(0, limit - used))} remaining ${unit}`
}

function renderByModel (days) {
  const totals = new Map()
  for (const day of days) {
    for (const [model, m] of Object.entries(day.models)) {
      const t = totals.get(model) ?? { tokens: 0, requests: 0 }
      t.tokens += m.promptTokens + m.completionTokens
      t.requests += m.requests
      totals.set(model, t)
    }
  }
  const rows = [...totals].sort((a, b) => b[1].tokens - a[1].tokens)
  const max = Math.max(1, ...rows.map(([, t]) => t.tokens))
  replaceChildren($('#by-model'), rows.length
    ? rows.map(([model, t]) => h('div', { class: 'bar-row' },
      h('span', { class: 'name', title: model }, model),
      h('span', { class: 'track' }, barSpan(t.tokens / max)),
      h('span', { class: 'n' }, `${fmtNumber(t.tokens)} · ${fmtNumber(t.requests)} req`)))
    : h('p', { class: 'muted' }, 'No usage yet. Send a request with the try-it box.'))
}

function barSpan (share) {
  const span = h('span')
  span.style.width = `${Math.max(2, share * 100).toFixed(1)}%`
  return span
}

function renderRecent (recent) {
  $('#recent-count').textContent = recent.length ? `last ${recent.length}` : ''
  replaceChildren($('#recent-body'), recent.length
    ? recent.map(r => h('tr', { dataset: { requestId: r.id } },
      h('td', { class: 'nowrap' }, fmtDate(r.at)),
      h('td', { class: 'model' }, r.model),
      h('td', { class: 'num' }, fmtNumber(r.promptTokens)),
      h('td', { class: 'num' }, fmtNumber(r.completionTokens)),
      h('td', { class: 'num' }, fmtMs(r.latencyMs)),
      h('td', { class: 'num' }, fmtMs(r.ttftMs)),
      h('td', {}, h('span', { class: `badge ${r.status === 'OK' ? 'ok' : 'bad'}` }, r.status))))
    : h('tr', {}, h('td', { colspan: 7, class: 'empty' }, 'No requests yet.')))
}

function setupTry () {
  const saved = JSON.parse(sessionStorage.getItem(LAST_KEY) ?? 'null')
  if (saved?.key) {
    $('#try-key').value = saved.key
    $('#try-key-hint').textContent = `Using the key “${saved.name}” you created in this tab (${saved.prefix}…)`
  }
  api('GET', '/api/models').then(({ models }) => {
    replaceChildren($('#try-model'), models.length
      ? models.map(m => h('option', { value: m.name }, `${m.name} · ${m.workers} worker${m.workers === 1 ? '' : 's'}`))
      : h('option', { value: '' }, 'No models served right now'))
  }, err => {
    replaceChildren($('#try-model'), h('option', { value: '' }, `Models unavailable: ${err.message}`))
  })

  let controller = null
  $('#try-stop').addEventListener('click', () => controller?.abort())
  $('#try-form').addEventListener('submit', async event => {
    event.preventDefault()
    const out = $('#try-output')
    const meta = $('#try-meta')
    out.textContent = ''
    meta.textContent = 'Waiting for the first token…'
    controller = new AbortController()
    $('#try-send').disabled = true
    $('#try-stop').disabled = false
    try {
      const res = await fetch('/api/inference', {
        method: 'POST',
        signal: controller.signal,
        headers: { 'content-type': 'application/json', 'x-api-key': $('#try-key').value.trim(), 'x-csrf-token': csrfToken(), accept: 'text/event-stream' },
        body: JSON.stringify({ model: $('#try-model').value, prompt: $('#try-prompt').value, maxTokens: Number($('#try-max').value) || 64, stream: true })
      })
      if (!res.ok) {
        const body = await res.json().catch(() => null)
        throw new Error(body?.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`)
      }
      for await (const { event, data } of readEvents(res)) {
        if (event === 'token') {
          out.append(document.createTextNode(data.text))
          meta.textContent = 'Streaming…'
        } else if (event === 'done') {
          meta.textContent = `${data.usage.promptTokens} prompt + ${data.usage.completionTokens} completion tokens · ${fmtMs(data.latencyMs)} · ${data.finishReason}${data.cached ? ' · cached' : ''}`
        } else if (event === 'error') {
          throw new Error(`${data.error.code}: ${data.error.message}`)
        }
      }
      setTimeout(refresh, 300)
    } catch (err) {
      meta.textContent = err.name === 'AbortError' ? 'Stopped.' : err.message
    } finally {
      $('#try-send').disabled = false
      $('#try-stop').disabled = true
    }
  })
}
