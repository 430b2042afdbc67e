import { api, requireUser } from './lib/api.js'
import { $, fmtDate, h, replaceChildren, showError, toast } from './lib/dom.js'
import { initShell } from './lib/shell.js'

initShell()
const me = await requireUser()
if (me.role !== 'admin') {
  showError($('#load-error'), { message: 'Only admins can see this page.' })
} else {
  await Promise.all([loadUsers(), loadWorkers()]).catch(err => showError($('#load-error'), err))
}

async function loadUsers () {
  const { users, plans } = await api('GET', '/api/admin/users')
  $('#user-count').textContent = `${users.length} user${users.length === 1 ? '' : 's'}`
  replaceChildren($('#users-body'), users.map(user => h('tr', { dataset: { username: user.username } },
    h('td', {}, h('strong', {}, user.username)),
    h('td', {}, user.email),
    h('td', { class: 'nowrap' }, fmtDate(user.createdAt)),
    h('td', {}, choice(plans, user.plan, plan => api('POST', `/api/admin/users/${encodeURIComponent(user.username)}/plan`, { plan }), `plan of ${user.username}`)),
    h('td', {}, choice(['user', 'admin'], user.role, role => api('POST', `/api/admin/users/${encodeURIComponent(user.username)}/role`, { role }), `role of ${user.username}`, user.username === me.username)))))
}

function choice (options, current, save, label, disabled = false) {
  const select = h('select', { 'aria-label': label, disabled }, options.map(o => h('option', { value: o, selected: o === current }, o)))
  select.addEventListener('change', async () => {
    try {
      await save(select.value)
      toast(`Saved: ${label} is now ${select.value}`)
    } catch (err) {
      toast(err.message, 'error')
      select.value = current
    }
  })
  return select
}

async function loadWorkers () {
  const { workers, seen } = await api('GET', '/api/admin/workers')
  const keys = [...new Set([...seen.map(s => s.publicKey), ...workers.map(w => w.publicKey)])]
  replaceChildren($('#workers-body'), keys.length
    ? keys.map(key => {
      const approval = workers.find(w => w.publicKey === key)
      const live = seen.find(s => s.publicKey === key)
      const approved = approval && approval.revokedAt === null
      return h('tr', {},
        h('td', {}, h('code', { title: key }, key.slice(0, 16) + '…')),
        h('td', {}, live ? h('span', { class: `badge ${live.status}` }, live.status) : h('span', { class: 'muted' }, 'not seen')),
        h('td', {}, live?.models.join(', ') || '—'),
        h('td', {}, approved ? h('span', { class: 'badge ok' }, `approved ${fmtDate(approval.approvedAt)}`) : h('span', { class: 'badge warn' }, approval ? 'revoked' : 'waiting')),
        h('td', { class: 'num' }, approved
          ? h('button', { type: 'button', class: 'btn small danger', onclick: () => act('DELETE', `/api/admin/workers/${key}`, undefined, 'Worker approval revoked') }, 'Revoke')
          : h('button', { type: 'button', class: 'btn small primary', onclick: () => act('POST', '/api/admin/workers', { publicKey: key }, 'Worker approved') }, 'Approve')))
    })
    : h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No workers seen or approved yet.')))
}

async function act (method, path, body, done) {
  try {
    await api(method, path, body)
    toast(done)
    await loadWorkers()
  } catch (err) {
    toast(err.message, 'error')
  }
}
