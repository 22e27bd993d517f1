// The public chat, served like production (static build + the real gateway, linked to the real agent).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DESKTOP, PHONE, fitsViewport, newPage, screenshot } from './support/browser.mjs'
import { XSS_CORPUS, assertInert } from './support/xss.mjs'

const TEST_TIMEOUT = { timeout: 180_000 }
const PASSWORD = 'correct-horse-42'
let users = 0

async function register(page) {
  users += 1
  const email = `user${users}-${Date.now()}@example.com`
  await page.goto('/')
  await page.waitForURL('**/login')
  await page.locator('[data-test=to-register]').click()
  await page.locator('[data-test=email]').fill(email)
  await page.locator('[data-test=password]').fill(PASSWORD)
  await page.locator('[data-test=auth-submit]').click()
  await page.locator('[data-test=composer-input]').waitFor()
  return email
}

async function ask(page, text) {
  await page.locator('[data-test=composer-input]').fill(text)
  await page.keyboard.press('Enter')
}

const cloneStatus = (page) => page.locator('[data-test=clone-status]')

export function chatTests(ctx) {
  describe('public chat (gateway + agent)', () => {
    it('a user registers and chats through the gateway and the agent; history survives a reload', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.front.url })
      try {
        await register(page)
        await page.locator('[data-test=clone-status]', { hasText: 'online' }).waitFor({ timeout: 60_000 })
        await ask(page, 'Hi! Tell me one fact about the sea.')
        const answer = page.locator('.message-assistant[data-status=done]')
        await answer.waitFor({ timeout: 90_000 })
        const text = (await answer.innerText()).trim()
        assert.ok(text.length > 0)
        await page.waitForURL(/\/chat\/[^/]+$/)
        await page.locator('[data-test=conversation]').first().waitFor()
        await screenshot(page, 'chat-answer-1280')

        // A reload loses the in-memory access token: the refresh token gets a new one, transparently.
        await page.reload()
        await page.locator('.message-user', { hasText: 'one fact about the sea' }).waitFor()
        assert.equal((await page.locator('.message-assistant').innerText()).trim(), text)
        await page.locator('[data-test=conversation]').first().waitFor()
        assert.equal(await page.locator('[data-test=conversation]').count(), 1)

        await page.locator('[data-test=logout]').click()
        await page.waitForURL('**/login')
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
      }
    })

    it('the offline banner appears when the agent stops; the pending answer arrives when it returns', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.front.url, viewport: PHONE })
      try {
        await register(page)
        await page.locator('[data-test=clone-status]', { hasText: 'online' }).waitFor({ timeout: 60_000 })
        await ctx.agent.stop()
        await page.locator('[data-test=offline-banner]').waitFor({ timeout: 30_000 })
        assert.equal(await cloneStatus(page).innerText(), 'offline')

        await ask(page, 'Are you there? Say hello.')
        await page.locator('.message-assistant[data-status=pending] [data-test=pending]').waitFor({ timeout: 15_000 })
        await screenshot(page, 'chat-offline-pending-360')

        await ctx.agent.start()
        await page.locator('[data-test=clone-status]', { hasText: 'online' }).waitFor({ timeout: 60_000 })
        await page.locator('.message-assistant[data-status=done]').waitFor({ timeout: 90_000 })
        assert.ok((await page.locator('.message-assistant').innerText()).trim().length > 0)
        assert.equal(await page.locator('[data-test=offline-banner]').count(), 0)
        await screenshot(page, 'chat-answered-after-return-360')
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
      }
    })

    it('falls back to SSE when WebSockets cannot get through, and Stop still works', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.front.url })
      try {
        await register(page)
        // A proxy that drops WebSockets: every socket closes before reaching the gateway.
        await page.routeWebSocket(/\/ws\/chat/, (ws) => ws.close())
        await page.reload()
        await page.locator('[data-test=composer-input]').waitFor()
        await page.waitForTimeout(2_000) // two failed opens, then SSE
        await ask(page, 'Hello over SSE!')
        await page.locator('.message-assistant[data-status=done]').waitFor({ timeout: 90_000 })
        assert.ok((await page.locator('.message-assistant').innerText()).trim().length > 0)
        await page.waitForURL(/\/chat\/[^/]+$/)

        // The agent's 32 tokens end an answer in well under a second: a click could land after it
        // (fresh run 15). Answers run long (a live setting) while Stop is tried.
        const settings = `${ctx.agent.url}/api/engine/settings`
        const { max_tokens: saved } = await (await fetch(settings)).json()
        const putMaxTokens = (n) => fetch(settings, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ max_tokens: n }) })
        assert.equal((await putMaxTokens(1000)).status, 200)
        try {
          await ask(page, 'Write a long story about a lighthouse keeper and the sea.')
          await page.locator('.message-assistant[data-status=streaming]').filter({ hasText: /\w/ }).waitFor({ timeout: 60_000 })
          await page.locator('[data-test=stop]').click({ timeout: 30_000 })
          await page.locator('.message-assistant[data-status=stopped]').waitFor()
          await page.locator('[data-test=send]').waitFor()
        } finally {
          await putMaxTokens(saved)
        }
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
      }
    })

    it('hostile model output renders inert in the public chat', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.front.url })
      try {
        await register(page)
        // The socket's answer carries the corpus (the model cannot be steered to say it).
        await page.routeWebSocket(/\/ws\/chat/, (ws) => {
          ws.send(JSON.stringify({ type: 'status', agent_online: true }))
          ws.onMessage((raw) => {
            const message = JSON.parse(String(raw))
            const ids = { request_id: 'r1', conversation_id: 'c-xss', message_id: 'm1' }
            ws.send(JSON.stringify({ type: 'accepted', ...ids, client_id: message.client_id }))
            for (const item of XSS_CORPUS) ws.send(JSON.stringify({ type: 'chunk', request_id: 'r1', delta: `${item}\n\n` }))
            ws.send(JSON.stringify({ type: 'end', request_id: 'r1', finish_reason: 'stop', message_id: 'm1',
              sources: [{ document_id: 'd', document_name: '<img src=x onerror=window.__xss=1>.md', chunk_index: 0 }] }))
          })
        })
        await page.reload()
        await page.locator('[data-test=clone-status]', { hasText: 'online' }).waitFor()
        await ask(page, '<img src=x onerror="window.__xss=1"> and <script>window.__xss=1</script>')
        await page.locator('.message-assistant[data-status=done]').waitFor()
        for (const link of await page.locator('.message-assistant a').all()) await link.click().catch(() => undefined)
        await page.waitForTimeout(300)
        await assertInert(page)
        assert.match(await page.locator('[data-test=sources]').innerText(), /onerror/)
        await screenshot(page, 'chat-xss-inert-1280')
      } finally {
        await context.close()
      }
    })

    it('fits a 360 px phone and a 1280 px desktop; the menu opens on the phone; Russian works', TEST_TIMEOUT, async () => {
      for (const [label, viewport] of [['360', PHONE], ['1280', DESKTOP]]) {
        const { page, context } = await newPage(ctx.browser, { baseURL: ctx.front.url, viewport })
        try {
          await page.goto('/login')
          await page.locator('[data-test=auth-submit]').waitFor()
          assert.ok(await fitsViewport(page), `login fits ${label} px`)
          await screenshot(page, `chat-login-${label}`)
          await register(page)
          assert.ok(await fitsViewport(page), `chat fits ${label} px`)
          const sidebar = page.locator('.chat-sidebar')
          if (label === '360') {
            assert.equal(await sidebar.evaluate((el) => el.getBoundingClientRect().right <= 0), true, 'drawer closed')
            await page.locator('[data-test=menu]').click()
            await page.waitForFunction(() => document.querySelector('.chat-sidebar').getBoundingClientRect().left >= 0)
            await screenshot(page, 'chat-menu-open-360')
            await page.locator('.sidebar-backdrop').click({ position: { x: 340, y: 400 } })
          } else {
            assert.ok(await sidebar.isVisible())
          }
          await page.locator('[data-test=language]').selectOption('ru')
          assert.equal(await page.locator('[data-test=logout]').innerText(), 'Выйти')
          await screenshot(page, `chat-ru-${label}`)
          assert.deepEqual(page.errors, [])
        } finally {
          await context.close()
        }
      }
    })

    it('is an installable PWA whose app shell opens offline', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.front.url })
      try {
        await page.goto('/login')
        const manifest = await page.evaluate(async () => {
          const link = document.querySelector('link[rel=manifest]')
          return (await fetch(link.href)).json()
        })
        assert.equal(manifest.display, 'standalone')
        assert.ok(manifest.icons.some((icon) => icon.sizes === '512x512'))
        await page.evaluate(() => navigator.serviceWorker.ready.then(() => true))
        await context.setOffline(true)
        await page.reload()
        await page.locator('[data-test=auth-submit]').waitFor({ timeout: 10_000 })
        await screenshot(page, 'chat-offline-shell-1280')
        await context.setOffline(false)
      } finally {
        await context.close()
      }
    })
  })
}
