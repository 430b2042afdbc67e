import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { chromium, type BrowserContext, type Dialog, type Page } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'
export const SCREENSHOT_DIR = join(import.meta.dirname, '..', '..', 'test-output', 'screenshots')

const ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--disable-quic', '--no-first-run'
]

interface Teardown { teardown (fn: () => unknown): void }

export interface TestBrowser {
  context: BrowserContext
  page: Page
  /** Every dialog (alert, confirm, prompt) any page opened; each is dismissed. */
  dialogs: Dialog[]
  /** Errors thrown by page scripts and console errors (CSP violations show up here). */
  pageErrors: string[]
  screenshot (name: string): Promise<string>
}

/** Headless Debian chromium with a fresh profile, closed at teardown. */
export async function launchBrowser (t: Teardown): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`chromium not found at ${CHROMIUM}: install it (apt-get install chromium) or set CHROMIUM_PATH; CI installs it in .ci/run`)
  }
  const profile = mkdtempSync(join(tmpdir(), 'hyperinfer-chromium-'))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: ARGS,
    viewport: { width: 1360, height: 900 },
    deviceScaleFactor: 1
  })
  t.teardown(async () => {
    await context.close()
    rmSync(profile, { recursive: true, force: true })
  })
  const dialogs: Dialog[] = []
  const pageErrors: string[] = []
  context.on('dialog', dialog => {
    dialogs.push(dialog)
    dialog.dismiss().catch(() => {})
  })
  const page = context.pages()[0] ?? await context.newPage()
  page.on('pageerror', err => { pageErrors.push(err.message) })
  page.on('console', msg => { if (msg.type() === 'error') pageErrors.push(msg.text()) })
  mkdirSync(SCREENSHOT_DIR, { recursive: true })
  return {
    context,
    page,
    dialogs,
    pageErrors,
    async screenshot (name) {
      const path = join(SCREENSHOT_DIR, `${name}.png`)
      await page.screenshot({ path, fullPage: true })
      return path
    }
  }
}
