// The page chrome: which nav items show (guest, user, admin), the active item, log out.
import { api, me } from './api.js'
import { $, $$, replaceChildren, h, toast } from './dom.js'

export async function initShell () {
  const page = document.body.dataset.page
  for (const link of $$('[data-nav]')) link.classList.toggle('active', link.dataset.nav === page)
  let user = null
  try {
    user = await me()
  } catch {
    user = null
  }
  for (const el of $$('[data-when]')) {
    const when = el.dataset.when
    el.hidden = when === 'guest' ? user !== null : when === 'user' ? user === null : user?.role !== 'admin'
  }
  if (user) replaceChildren($('#who'), 'Signed in as ', h('strong', {}, user.username))
  $('#logout')?.addEventListener('click', async () => {
    try {
      await api('POST', '/api/auth/logout')
      location.assign('/')
    } catch (err) {
      toast(err.message, 'error')
    }
  })
  return user
}
