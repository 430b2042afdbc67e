import { api } from './lib/api.js'
import { $, showError } from './lib/dom.js'
import { initShell } from './lib/shell.js'

initShell()
$('#register-form').addEventListener('submit', async event => {
  event.preventDefault()
  const error = $('#form-error')
  error.hidden = true
  $('#submit').disabled = true
  try {
    await api('POST', '/api/auth/register', {
      username: $('#username').value.trim(),
      email: $('#email').value.trim(),
      password: $('#password').value
    })
    location.assign(`/login?registered=1&login=${encodeURIComponent($('#username').value.trim())}`)
  } catch (err) {
    showError(error, err)
  } finally {
    $('#submit').disabled = false
  }
})
