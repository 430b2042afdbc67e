import { api, requireUser } from './lib/api.js'
import { $, fmtDate, showError } from './lib/dom.js'
import { initShell } from './lib/shell.js'

initShell()
const user = await requireUser()
$('#acct-username').textContent = user.username
$('#acct-email').textContent = user.email
$('#acct-plan').textContent = user.plan
$('#acct-role').textContent = user.role
$('#acct-created').textContent = fmtDate(user.createdAt)

$('#password-form').addEventListener('submit', async event => {
  event.preventDefault()
  const error = $('#form-error')
  error.hidden = true
  $('#form-ok').hidden = true
  $('#submit').disabled = true
  try {
    await api('POST', '/api/auth/password', { currentPassword: $('#current-password').value, newPassword: $('#new-password').value })
    $('#password-form').reset()
    $('#form-ok').hidden = false
  } catch (err) {
    showError(error, err)
  } finally {
    $('#submit').disabled = false
  }
})
