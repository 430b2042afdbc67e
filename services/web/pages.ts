import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { PACKAGE_ROOT } from '../../shared/paths.js'
import { ensureCsrfCookie, SESSION_COOKIE } from './security.js'

export const PUBLIC_DIR = join(PACKAGE_ROOT, 'services', 'web', 'public')
const PAGES_DIR = join(PACKAGE_ROOT, 'services', 'web', 'pages')

interface Page { path: string, name: string, title: string, loggedIn: boolean }

/** Every page: a static body in pages/<name>.html inside one layout; its script is public/js/<name>.js. */
export const PAGES: Page[] = [
  { path: '/', name: 'landing', title: 'Private AI inference on your own mesh', loggedIn: false },
  { path: '/register', name: 'register', title: 'Create an account', loggedIn: false },
  { path: '/login', name: 'login', title: 'Log in', loggedIn: false },
  { path: '/dashboard', name: 'dashboard', title: 'Dashboard', loggedIn: true },
  { path: '/keys', name: 'keys', title: 'API keys', loggedIn: true },
  { path: '/mesh', name: 'mesh', title: 'Mesh status', loggedIn: false },
  { path: '/settings', name: 'settings', title: 'Settings', loggedIn: true },
  { path: '/admin', name: 'admin', title: 'Administration', loggedIn: true }
]

/** The page around a body. Nothing here comes from a user: user data is only ever set with textContent. */
function layout (page: Page, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} · hyperinfer</title>
<link rel="icon" href="/assets/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/assets/vendor/uplot/uPlot.min.css">
<link rel="stylesheet" href="/assets/css/app.css">
<script type="module" src="/assets/js/${page.name}.js"></script>
</head>
<body data-page="${page.name}">
<header class="topbar">
  <a class="brand" href="/"><span class="logo" aria-hidden="true"></span>hyperinfer</a>
  <nav class="nav" aria-label="main">
    <a href="/dashboard" data-nav="dashboard" data-when="user">Dashboard</a>
    <a href="/keys" data-nav="keys" data-when="user">API keys</a>
    <a href="/mesh" data-nav="mesh">Mesh</a>
    <a href="/settings" data-nav="settings" data-when="user">Settings</a>
    <a href="/admin" data-nav="admin" data-when="admin">Admin</a>
  </nav>
  <div class="account">
    <span class="who" id="who" data-when="user"></span>
    <button type="button" class="btn ghost small" id="logout" data-when="user">Log out</button>
    <a class="btn ghost small" href="/login" data-when="guest">Log in</a>
    <a class="btn primary small" href="/register" data-when="guest">Get started</a>
  </div>
</header>
<main class="page page-${page.name}">
${body}
</main>
<footer class="footer">hyperinfer · a peer-to-peer inference mesh · <a href="/mesh">mesh status</a></footer>
<div id="toast" class="toast" role="status" aria-live="polite" hidden></div>
</body>
</html>
`
}

export function pageRoutes (app: FastifyInstance, secureCookies: boolean): void {
  for (const page of PAGES) {
    const html = layout(page, readFileSync(join(PAGES_DIR, `${page.name}.html`), 'utf8'))
    app.get(page.path, async (req, reply) => {
      if (page.loggedIn && !req.cookies[SESSION_COOKIE]) return reply.redirect(`/login?next=${encodeURIComponent(page.path)}`)
      ensureCsrfCookie(req, reply, secureCookies)
      return reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(html)
    })
  }
}

export function notFoundPage (): string {
  return layout({ path: '', name: 'notfound', title: 'Not found', loggedIn: false },
    '<section class="hero small"><h1>Page not found</h1><p class="lead">There is nothing here.</p><p><a class="btn primary" href="/">Back home</a></p></section>')
}
