import { api } from './lib/api.js'
import { $, fmtAgo, fmtNumber, fmtUptime, h, replaceChildren, showError } from './lib/dom.js'
import { initShell } from './lib/shell.js'

const ROLES = ['auth', 'gateway', 'inference', 'metrics', 'web']
const ROLE_TEXT = { auth: 'Accounts & keys', gateway: 'Front door', inference: 'Workers', metrics: 'Scrapes & health', web: 'This dashboard' }

initShell()
await refresh()
setInterval(() => { if (!document.hidden) refresh() }, 5_000)

async function refresh () {
  try {
    const status = await api('GET', '/api/status')
    $('#load-error').hidden = true
    render(status)
  } catch (err) {
    showError($('#load-error'), err)
  }
  api('GET', '/api/models').then(renderModels, err => {
    replaceChildren($('#models-body'), h('tr', {}, h('td', { colspan: 4, class: 'empty' }, err.message)))
  })
}

function render (status) {
  const overall = $('#overall')
  overall.textContent = `mesh ${status.status}`
  overall.className = `badge ${status.status}`
  $('#source').textContent = status.source === 'metrics' ? 'from the metrics node' : 'from this node\'s discovery (no metrics node answering)'
  replaceChildren($('#role-cards'), ROLES.filter(r => r !== 'web').map(role => {
    const nodes = status.nodes.filter(n => n.role === role)
    const up = nodes.filter(n => n.status === 'up').length
    return h('div', { class: 'card stat', dataset: { role } },
      h('div', { class: 'label' }, role),
      h('div', { class: 'value' }, `${up}/${nodes.length}`),
      h('div', { class: 'sub' }, `${ROLE_TEXT[role]} · ${nodes.length === 0 ? 'none found' : up === nodes.length ? 'all up' : `${nodes.length - up} not up`}`))
  }))
  const nodes = [...status.nodes].sort((a, b) => ROLES.indexOf(a.role) - ROLES.indexOf(b.role) || a.node.localeCompare(b.node))
  $('#node-count').textContent = `${nodes.length} node${nodes.length === 1 ? '' : 's'}`
  replaceChildren($('#nodes-body'), nodes.length
    ? nodes.map(n => h('tr', { dataset: { role: n.role, status: n.status } },
      h('td', {}, h('code', { title: n.publicKey }, n.node), n.self ? h('span', { class: 'muted small' }, ' (this node)') : null),
      h('td', {}, h('span', { class: 'badge role' }, n.role)),
      h('td', {}, h('span', { class: `badge ${n.status}` }, h('span', { class: 'dot' }), n.status)),
      h('td', {}, h('span', { class: `badge ${n.approval === 'approved' ? 'up' : n.approval === 'not approved' ? 'degraded' : 'role'}` }, n.approval ?? 'unknown')),
      h('td', { class: 'models' }, n.models.length ? n.models.join(', ') : h('span', { class: 'muted' }, '—')),
      h('td', {}, n.version ?? '—'),
      h('td', { class: 'num' }, fmtUptime(n.uptimeSeconds)),
      h('td', { class: 'nowrap' }, n.lastSeenAgoMs === null ? 'never' : fmtAgo(new Date(Date.now() - n.lastSeenAgoMs).toISOString()))))
    : h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'No nodes found yet.')))
}

function renderModels ({ models }) {
  replaceChildren($('#models-body'), models.length
    ? models.map(m => h('tr', {},
      h('td', {}, h('code', {}, m.name)),
      h('td', { class: 'num' }, fmtNumber(m.workers)),
      h('td', {}, m.backends.join(', ') || '—'),
      h('td', { class: 'num' }, m.contextLength === null ? '—' : fmtNumber(m.contextLength))))
    : h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'No models served right now.')))
}
