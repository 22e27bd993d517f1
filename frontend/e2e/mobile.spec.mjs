// Every page of both apps on a 360 px phone, in Russian and in English (issue 25, item 6), and the
// same checks on a 1280 px screen:
// nothing scrolls sideways, no text overflows or is clipped by its box (the clone's name in the
// chat header included), no word is broken in the middle, tables stack as cards whose cells name
// their column, <html lang> follows the chosen language (so the browser hyphenates in that
// language), and the admin's test chat grows with the page instead of scrolling inside itself.
// Each page passes axe and leaves a screenshot: test-results/screenshots/{mobile,wide}-<page>-<lang>.png.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertAccessible } from './support/a11y.mjs'
import { DESKTOP, PHONE, screenshot } from './support/browser.mjs'
import { brokenWords, layoutProblems, unlabelledCells } from './support/layout.mjs'

const TEST_TIMEOUT = { timeout: 300_000 }
const LANGUAGES = ['en', 'ru']
// the phone the issue was about, and a desktop screen (the same checks, screenshots named wide-…)
const SCREENS = [{ name: 'mobile', viewport: PHONE }, { name: 'wide', viewport: DESKTOP }]
const ADMIN_PAGES = ['persona', 'chat', 'documents', 'memories', 'status', 'overview', 'gateway', 'telegram']
const CHAT_PAGES = ['keys', 'home', 'memories', 'owner']

/** A phone-sized context whose pages start in ``lang`` (the apps keep the choice in localStorage). */
async function phonePage(browser, baseURL, lang, viewport = PHONE) {
  const context = await browser.newContext({ baseURL, viewport, locale: lang === 'ru' ? 'ru-RU' : 'en-US' })
  context.setDefaultTimeout(20_000)
  await context.addInitScript((chosen) => localStorage.setItem('aiclone.locale', chosen), lang)
  const page = await context.newPage()
  page.errors = []
  page.on('pageerror', (error) => page.errors.push(error))
  return { context, page }
}

/** The page once its data has arrived (the overview keeps polling: idle is enough). */
async function settle(page) {
  await page.locator('h1').first().waitFor()
  await page.waitForLoadState('networkidle', { timeout: 5_000 }).catch(() => undefined)
}

/** Checks one page, screenshots it, and returns what is wrong with it (empty: nothing). */
async function checkPage(page, name, lang, screen) {
  const problems = []
  const htmlLang = await page.evaluate(() => document.documentElement.lang)
  if (htmlLang !== lang) problems.push(`<html lang="${htmlLang}">, the page is in ${lang}`)
  problems.push(...(await layoutProblems(page)))
  const broken = await brokenWords(page)
  if (broken.length) problems.push(`words broken mid-word: ${broken.join(', ')}`)
  problems.push(...(await unlabelledCells(page)))
  await screenshot(page, `${screen.name}-${name}-${lang}`)
  await assertAccessible(page, `${name} ${screen.viewport.width} px ${lang}`)
  return problems.map((p) => `${name} (${lang}, ${screen.viewport.width} px): ${p}`)
}

async function uploadDocument(agentUrl) {
  const form = new FormData()
  form.append('file', new Blob(['The phone layout test document.\n']), 'a-rather-long-document-name-for-a-phone.txt')
  const uploaded = await (await fetch(`${agentUrl}/api/rag/documents`, { method: 'POST', body: form })).json()
  return uploaded.id
}

export function mobileTests(ctx) {
  describe('every page at 360 px and 1280 px, in Russian and English', () => {
    for (const screen of SCREENS) for (const lang of LANGUAGES) {
      const size = `${screen.viewport.width} px ${screen.name === 'mobile' ? 'phone' : 'screen'}`
      it(`the admin's pages fit a ${size} (${lang})`, TEST_TIMEOUT, async () => {
        const { page, context } = await phonePage(ctx.browser, ctx.agent.url, lang, screen.viewport)
        const problems = []
        let documentId = null
        try {
          for (const name of ADMIN_PAGES) {
            await page.goto(`/${name}`)
            await settle(page)
            if (name === 'chat') {
              await page.locator('[data-test=composer-input]').fill('Hello! Tell me about your day.')
              await page.keyboard.press('Enter')
              await page.locator('.message-assistant[data-status=done]').last().waitFor({ timeout: 90_000 })
              // the test chat is part of the page on a phone: one scroll, not a box scrolling inside it
              const inner = await page.locator('.test-chat .message-list').evaluate((el) => ({ overflow: getComputedStyle(el).overflowY, scroll: el.scrollHeight, height: el.clientHeight }))
              if (screen.name === 'mobile' && (inner.overflow !== 'visible' || inner.scroll > inner.height + 1)) problems.push(`chat (${lang}): the test chat scrolls inside itself (${JSON.stringify(inner)})`)
            }
            if (name === 'documents') {
              documentId = await uploadDocument(ctx.agent.url) // a row in the table, after the chat
              await page.reload()
              await page.locator('[data-test=document]').first().waitFor()
            }
            problems.push(...(await checkPage(page, `admin-${name}`, lang, screen)))
          }
          assert.deepEqual(page.errors, [])
        } finally {
          await context.close()
          if (documentId) await fetch(`${ctx.agent.url}/api/rag/documents/${documentId}`, { method: 'DELETE' })
        }
        assert.deepEqual(problems, [])
      })

      it(`the public chat's pages fit a ${size} (${lang})`, TEST_TIMEOUT, async () => {
        const { page, context } = await phonePage(ctx.browser, ctx.front.url, lang, screen.viewport)
        const problems = []
        try {
          await page.goto('/register')
          await settle(page)
          problems.push(...(await checkPage(page, 'chat-register', lang, screen)))
          await page.goto('/login')
          await settle(page)
          problems.push(...(await checkPage(page, 'chat-login', lang, screen)))
          await page.locator('[data-test=email]').fill(ctx.owner.email)
          await page.locator('[data-test=password]').fill(ctx.owner.password)
          await page.locator('[data-test=auth-submit]').click()
          await page.locator('[data-test=composer-input]').waitFor()
          await page.locator('[data-test=clone-status].badge-ok').waitFor({ timeout: 60_000 })
          problems.push(...(await checkPage(page, 'chat-chat', lang, screen)))
          for (const name of CHAT_PAGES) {
            await page.goto(`/${name}`)
            await settle(page)
            // a row in each table, so the stacked cards are there to check
            if (name === 'keys' && (await page.locator('[data-test=key-row]').count()) === 0) {
              await page.locator('[data-test=key-name]').fill('телефон')
              await page.locator('[data-test=key-create]').click()
              await page.locator('[data-test=key-row]').first().waitFor()
            }
            if (name === 'home' && (await page.locator('[data-test=lan-row]').count()) === 0) {
              await page.locator('[data-test=lan-name]').fill('kitchen tablet')
              await page.locator('[data-test=lan-create]').click()
              await page.locator('[data-test=lan-row]').first().waitFor()
            }
            if (name === 'owner') await page.locator('[data-test=user-row]').first().waitFor()
            problems.push(...(await checkPage(page, `chat-${name}`, lang, screen)))
          }
          assert.deepEqual(page.errors, [])
        } finally {
          await context.close()
        }
        assert.deepEqual(problems, [])
      })
    }
  })
}
