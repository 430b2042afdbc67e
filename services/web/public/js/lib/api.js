// Calls to the web node's REST API: JSON in and out, the CSRF token echoed from its cookie,
// errors thrown as ApiError with the server's code and message.

export class ApiError extends Error {
  constructor (status, code, message, details) {
    super(message)
    this.status = status
    this.code = code
    this.details = details
  }
}

export function csrfToken () {
  const match = document.cookie.split('; ').find(part => part.startsWith('hi_csrf='))
  return match ? decodeURIComponent(match.slice('hi_csrf='.length)) : ''
}

export async function api (method, path, body, headers = {}) {
  const init = { method, headers: { accept: 'application/json', 'x-csrf-token': csrfToken(), ...headers }, credentials: 'same-origin' }
  if (method !== 'GET') {
    init.headers['content-type'] = 'application/json'
    init.body = JSON.stringify(body ?? {})
  }
  const res = await fetch(path, init)
  const data = await res.json().catch(() => null)
  if (!res.ok) {
    const err = data?.error ?? {}
    throw new ApiError(res.status, err.code ?? 'INTERNAL', err.message ?? `HTTP ${res.status}`, err.details)
  }
  return data
}

/** The logged-in user, or null (the cached answer is shared by every caller on the page). */
let mePromise = null
export function me () {
  mePromise ??= api('GET', '/api/auth/session').then(r => r.user)
  return mePromise
}

/** On pages that need a user: the user, or off to the login page. */
export async function requireUser () {
  const user = await me()
  if (!user) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`)
    throw new Error('not logged in')
  }
  return user
}
