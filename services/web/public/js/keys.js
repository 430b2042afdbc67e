import { api, requireUser } from './lib/api.js'
import { $, fmtAgo, fmtDate, h, replaceChildren, showError, toast } from './lib/dom.js'
import { initShell } from './lib/shell.js'

export const LAST_KEY = 'hyperinfer.lastKey'

initShell()
await requireUser()
await load()

$('#create-form').addEventListener('submit', async event => {
  event.preventDefault()
  const error = $('#form-error')
  error.hidden = true
  $('#create').disabled = true
  try {
    const { key } = await api('POST', '/api/auth/api-keys', { name: $('#key-name').value })
    showCreated(key)
    $('#create-form').reset()
    await load()
  } catch (err) {
    showError(error, err)
  } finally {
    $('#create').disabled = false
  }
})

$('#copy').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText($('#new-key').textContent)
    toast('Key copied to the clipboard')
  } catch {
    const range = document.createRange()
    range.selectNodeContents($('#new-key'))
    getSelection().removeAllRanges()
    getSelection().addRange(range)
    toast('Press Ctrl+C to copy the selected key')
  }
})

function showCreated (key) {
  $('#new-key').textContent = key.key
  $('#new-key-name').textContent = key.name
  $('#new-key-prefix').textContent = key.prefix
  $('#created').hidden = false
  sessionStorage.setItem(LAST_KEY, JSON.stringify({ key: key.key, name: key.name, prefix: key.prefix }))
}

async function load () {
  const { keys } = await api('GET', '/api/auth/api-keys')
  const live = keys.filter(k => !k.revokedAt).length
  $('#key-count').textContent = `${live} active · ${keys.length - live} revoked`
  const rows = [...keys]
    .sort((a, b) => (a.revokedAt ? 1 : 0) - (b.revokedAt ? 1 : 0) || b.createdAt.localeCompare(a.createdAt))
    .map(row)
  replaceChildren($('#keys-body'), rows.length ? rows : h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No keys yet. Create one above.')))
}

function row (key) {
  const actions = h('td', { class: 'num nowrap' })
  const tr = h('tr', { dataset: { keyId: key.id }, class: key.revokedAt ? 'revoked' : '' },
    h('td', { class: 'key-name' }, key.name),
    h('td', {}, h('code', { class: 'key-prefix' }, `${key.prefix}…`)),
    h('td', { class: 'nowrap' }, fmtDate(key.createdAt)),
    h('td', { class: 'nowrap' }, key.lastUsedAt ? fmtAgo(key.lastUsedAt) : 'never'),
    h('td', {}, key.revokedAt ? h('span', { class: 'badge bad' }, 'revoked') : h('span', { class: 'badge ok' }, 'active')),
    actions)
  if (!key.revokedAt) showActions(actions, key)
  return tr
}

function showActions (cell, key) {
  replaceChildren(cell,
    h('button', { type: 'button', class: 'btn small', onclick: () => confirmInline(cell, key, 'rotate') }, 'Rotate'), ' ',
    h('button', { type: 'button', class: 'btn small danger', onclick: () => confirmInline(cell, key, 'revoke') }, 'Revoke'))
}

/** Asks in the row itself (no browser dialog): "Revoke “name”? Confirm / Cancel". */
function confirmInline (cell, key, action) {
  const question = action === 'revoke' ? `Revoke “${key.name}”? Programs using it stop working.` : `Rotate “${key.name}”? The old key stops working.`
  replaceChildren(cell,
    h('span', { class: 'small muted' }, question), ' ',
    h('button', { type: 'button', class: `btn small ${action === 'revoke' ? 'danger' : 'primary'}`, dataset: { confirm: action }, onclick: () => run(cell, key, action) }, 'Confirm'), ' ',
    h('button', { type: 'button', class: 'btn small ghost', onclick: () => showActions(cell, key) }, 'Cancel'))
}

async function run (cell, key, action) {
  try {
    if (action === 'revoke') {
      await api('DELETE', `/api/auth/api-keys/${encodeURIComponent(key.id)}`)
      toast(`Key “${key.name}” revoked`)
    } else {
      const { created } = await api('POST', `/api/auth/api-keys/${encodeURIComponent(key.id)}/rotate`)
      showCreated(created)
      toast(`Key “${key.name}” rotated: copy the new key now`)
    }
    await load()
  } catch (err) {
    toast(err.message, 'error')
    showActions(cell, key)
  }
}
