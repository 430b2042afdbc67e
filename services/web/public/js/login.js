import { api } from './lib/api.js'
import { $, showError } from './lib/dom.js'
import { initShell } from './lib/shell.js'

initShell()
const params = new URLSearchParams(location.search)
if (params.get('registered')) $('#registered').hidden = false
if (params.get('login')) $('#login').value = params.get('login')

/** Only ever go on to one of our own pages. */
function nextPage () {
  const next = params.get('next') ?? ''
  return /^\/[a-z]*$/.test(next) ? next : '/dashboard'
}

$('#login-form').addEventListener('submit', async event => {
  event.preventDefault()
  const error = $('#form-error')
  error.hidden = true
  $('#submit').disabled = true
  try {
    await api('POST', '/api/auth/login', { login: $('#login').value.trim(), password: $('#password').value })
    location.assign(nextPage())
  } catch (err) {
    showError(error, err)
  } finally {
    $('#submit').disabled = false
  }
})
