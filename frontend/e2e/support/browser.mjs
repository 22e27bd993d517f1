// Debian's Chromium driven by playwright-core (no browser download).
import { existsSync, mkdirSync } from 'node:fs'
import path from 'node:path'
import { chromium } from 'playwright-core'
import { CHROMIUM, SCREENSHOTS } from './paths.mjs'

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run ./scripts/install_browser.sh`)
  // Playwright gives each launch a fresh temporary profile (--user-data-dir) of its own.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    timeout: 60_000,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  })
}

export const PHONE = { width: 360, height: 740 }
export const DESKTOP = { width: 1280, height: 800 }

/** A fresh context (own storage) whose pages fail fast and record page errors. */
export async function newPage(browser, { baseURL, viewport = DESKTOP } = {}) {
  const context = await browser.newContext({ baseURL, viewport, locale: 'en-US' })
  context.setDefaultTimeout(15_000)
  const page = await context.newPage()
  page.errors = []
  page.on('pageerror', (error) => page.errors.push(error))
  page.dialogs = []
  page.on('dialog', (dialog) => {
    page.dialogs.push(dialog.message())
    void dialog.accept()
  })
  return { context, page }
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true })
  const file = path.join(SCREENSHOTS, `${name}.png`)
  await page.screenshot({ path: file, fullPage: true })
  return file
}

/** True when nothing sticks out sideways (the layout fits the viewport). */
export async function fitsViewport(page) {
  return page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1)
}
