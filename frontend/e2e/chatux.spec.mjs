// Issue 25 (items 4, 5, 7, 8) in the browser: conversations in the address and reopened, an
// unanswered question with Regenerate, the admin's first-run checklist and header badge, no alarm
// for paths never set up, the public pages' words (the clone's name, online/offline, the password
// rule, closed sign-up), the persona editor's guard; EN at 1280 px and RU at 360 px, with axe.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertAccessible } from './support/a11y.mjs'
import { DESKTOP, PHONE, fitsViewport, newPage, screenshot } from './support/browser.mjs'

const TEST_TIMEOUT = { timeout: 360_000 }
const ANSWER_TIMEOUT = { timeout: 150_000 } // a loaded test machine: the tiny model can take a while

async function json(url, init = {}) {
  const response = await fetch(url, { ...init, headers: { 'Content-Type': 'application/json', ...(init.headers ?? {}) } })
  assert.ok(response.ok, `${init.method ?? 'GET'} ${url}: ${response.status} ${await response.clone().text()}`)
  return response.status === 204 ? null : response.json()
}

/** A stored question whose answer never came (as after a reload before the first token). */
async function unansweredConversation(agentUrl, question) {
  const asked = await json(`${agentUrl}/api/chat/test`, { method: 'POST', body: JSON.stringify({ message: question }) })
  await json(`${agentUrl}/api/conversations/${asked.conversation_id}/messages?keep=1`, { method: 'DELETE' })
  return asked.conversation_id
}

async function inRussian(page) {
  await page.locator('[data-test=language]').selectOption('ru')
}

/** Dialogs answered "Cancel" from now on (newPage accepts them), still recorded. */
function dismissDialogs(page) {
  page.removeAllListeners('dialog')
  page.on('dialog', (dialog) => {
    page.dialogs.push(dialog.message())
    void dialog.dismiss()
  })
}

async function ownerToken(gatewayUrl, owner) {
  const tokens = await json(`${gatewayUrl}/api/auth/login`, { method: 'POST', body: JSON.stringify(owner) })
  return tokens.access_token
}

async function setRegistration(gatewayUrl, token, mode) {
  await json(`${gatewayUrl}/api/admin/registration`, { method: 'PUT', headers: { Authorization: `Bearer ${token}` }, body: JSON.stringify({ mode }) })
}

export function chatuxTests(ctx) {
  describe('issue 25: conversations, first run, words for the public, persona editor', () => {
    it('issue 25 admin home: checklist, header badge, a direct path never set up is not "down" (EN 1280)', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url, viewport: DESKTOP })
      try {
        await page.goto('/')
        await page.locator('[data-test=checklist]').waitFor()
        assert.equal(new URL(page.url()).pathname, '/', 'the admin opens on its home, not on Persona')
        await page.locator('[data-test=step-model][data-state=done]').waitFor()
        await page.locator('[data-test=step-persona][data-state=done]').waitFor() // the bundle has a prompt
        await page.locator('[data-test=step-gateway][data-state=done]').waitFor({ timeout: 30_000 }) // linked in run.mjs
        assert.equal(await page.locator('[data-test=step-documents]').getAttribute('data-state'), 'todo')
        assert.equal(await page.locator('[data-test=step-telegram]').getAttribute('data-state'), 'optional')
        const badge = page.locator('[data-test=header-badge]')
        await page.locator('[data-test=header-badge][data-key=online]').waitFor()
        assert.equal(await badge.innerText(), 'ready · online')
        assert.match(await badge.getAttribute('class'), /badge-ok/)
        await assertAccessible(page, 'admin home 1280')
        await screenshot(page, 'chatux-admin-home-1280')

        await page.locator('[data-test=nav-overview]').click()
        await page.locator('[data-test=chart-direct-rtt] strong', { hasText: 'not set up' }).waitFor({ timeout: 30_000 })
        assert.notEqual(await page.locator('[data-test=overview-mode]').innerText(), 'offline')
        await screenshot(page, 'chatux-admin-overview-1280')
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
      }
    })

    it('issue 25 admin test chat: /chat/<id> kept on reload and reopened, no answer + Regenerate (EN 1280)', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url, viewport: DESKTOP })
      try {
        await page.goto('/chat')
        await page.locator('[data-test=composer-input]').fill('Hello from the address bar test')
        await page.keyboard.press('Enter')
        await page.locator('.message-assistant[data-status=done]').waitFor(ANSWER_TIMEOUT).catch(async (error) => {
          await screenshot(page, 'chatux-failed-first-answer')
          throw error
        })
        await page.waitForURL(/\/chat\/[^/]+$/)
        const address = new URL(page.url()).pathname
        await page.reload()
        await page.locator('.message-user', { hasText: 'Hello from the address bar test' }).waitFor()
        assert.equal(new URL(page.url()).pathname, address, 'a reload keeps the conversation')
        await page.locator('[data-test=nav-persona]').click()
        await page.locator('[data-test=nav-test-chat]').click()
        await page.locator('.message-user', { hasText: 'Hello from the address bar test' }).waitFor()
        assert.equal(new URL(page.url()).pathname, address, 'the test chat reopens the last conversation')
        await screenshot(page, 'chatux-admin-chat-url-1280')

        const lost = await unansweredConversation(ctx.agent.url, 'Was this question ever answered?')
        await page.goto(`/chat/${lost}`)
        const marker = page.locator('[data-test=no-answer]')
        await marker.waitFor()
        assert.match(await marker.innerText(), /No answer/)
        await screenshot(page, 'chatux-admin-no-answer-1280')
        await page.locator('.message-assistant[data-status=unanswered] [data-test=regenerate]').click()
        await page.locator('.message-assistant[data-status=done]').waitFor(ANSWER_TIMEOUT)
        assert.equal(await marker.count(), 0)
        const stored = await json(`${ctx.agent.url}/api/conversations/${lost}`)
        assert.deepEqual(stored.messages.map((m) => m.role), ['user', 'assistant'])
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
      }
    })

    it('issue 25 admin test chat: preview as another channel\'s persona (EN 1280)', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url, viewport: DESKTOP })
      try {
        await page.goto('/chat')
        await page.locator('[data-test=test-chat-new]').click()
        await page.waitForURL((url) => url.pathname === '/chat')
        await page.locator('[data-test=preview-channel]').selectOption('web')
        await page.locator('[data-test=preview-note]', { hasText: 'Public web chat' }).waitFor()
        const request = page.waitForRequest('**/api/chat/stream')
        await page.locator('[data-test=composer-input]').fill('Who am I talking to?')
        await page.keyboard.press('Enter')
        assert.equal((await request).postDataJSON().channel, 'web')
        await page.locator('.message-assistant[data-status=done]').waitFor(ANSWER_TIMEOUT)
        await assertAccessible(page, 'test chat preview 1280')
        await screenshot(page, 'chatux-admin-preview-1280')
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
      }
    })

    it('issue 25 persona editor: Saved clears on edit, unsaved edits are guarded, no adapter field without an adapter (EN 1280)', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url, viewport: DESKTOP })
      const before = await json(`${ctx.agent.url}/api/clone`)
      try {
        await page.goto('/persona')
        await page.waitForFunction((name) => document.querySelector('[data-test=persona-name]')?.value === name, before.name)
        await page.locator('[data-test=persona-prompt]').fill(`${before.system_prompt} Be kind.`)
        await page.locator('[data-test=persona-save]').click()
        await page.locator('[data-test=persona-saved]').waitFor()
        await page.locator('[data-test=persona-prompt]').press('End')
        await page.keyboard.type(' Unsaved words.')
        await page.locator('[data-test=persona-unsaved]').waitFor()
        assert.equal(await page.locator('[data-test=persona-saved]').count(), 0, '"Saved" goes once there are new edits')

        dismissDialogs(page)
        await page.locator('[data-test=nav-test-chat]').click()
        assert.match(page.dialogs.at(-1) ?? '', /not saved/)
        assert.equal(new URL(page.url()).pathname, '/persona', 'cancel keeps the page and the edits')
        assert.match(await page.locator('[data-test=persona-prompt]').inputValue(), /Unsaved words\.$/)

        await page.locator('[data-test=channel-prompt]').fill('Owner only: call me boss.')
        await page.locator('[data-test=channel-web]').click()
        assert.match(page.dialogs.at(-1) ?? '', /not saved/)
        assert.ok(await page.locator('[data-test=channel-owner]').isChecked(), 'cancel keeps the channel')
        assert.equal(await page.locator('[data-test=channel-prompt]').inputValue(), 'Owner only: call me boss.')
        assert.equal(await page.locator('[data-test=channel-adapter-scale]').count(), 0, 'no adapter: no strength field')
        await screenshot(page, 'chatux-admin-persona-guard-1280')
        await assertAccessible(page, 'persona guard 1280')
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
        await json(`${ctx.agent.url}/api/clone`, { method: 'PUT', body: JSON.stringify({ name: before.name, system_prompt: before.system_prompt }) })
      }
    })

    it('issue 25 admin in Russian on a 360 px phone: checklist, local words, no answer marker, axe', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url, viewport: PHONE })
      try {
        await page.goto('/')
        await inRussian(page)
        await page.locator('[data-test=step-gateway] .badge', { hasText: 'готово' }).waitFor({ timeout: 30_000 })
        await page.locator('[data-test=step-telegram] .badge', { hasText: 'по желанию' }).waitFor()
        assert.ok(await fitsViewport(page), 'the home fits 360 px')
        await assertAccessible(page, 'admin home 360 ru')
        await screenshot(page, 'chatux-admin-home-360-ru')

        const lost = await unansweredConversation(ctx.agent.url, 'Вопрос без ответа?')
        await page.goto(`/chat/${lost}`)
        await page.locator('[data-test=no-answer]', { hasText: 'Нет ответа' }).waitFor()
        await page.locator('.message-assistant[data-status=unanswered] [data-test=regenerate]', { hasText: 'Ответить заново' }).waitFor()
        assert.ok(await fitsViewport(page), 'the test chat fits 360 px')
        await assertAccessible(page, 'test chat no answer 360 ru')
        await screenshot(page, 'chatux-admin-no-answer-360-ru')
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
      }
    })

    it('issue 25 public chat: the clone\'s name, the password rule, a common password refused, "online" alone, /chat/<id> reopened (EN 1280)', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.front.url, viewport: DESKTOP })
      try {
        const status = await json(`${ctx.gateway.url}/api/status`)
        assert.ok(status.clone.name, 'the gateway knows the clone by name')
        await page.goto('/register')
        await page.locator('[data-test=brand]', { hasText: status.clone.name }).waitFor()
        assert.ok(!(await page.locator('main').innerText()).includes('AI Clone'), 'the page says the clone\'s name, not the product\'s')
        assert.match(await page.locator('[data-test=password-rule]').innerText(), /At least 8 characters/)
        await page.locator('[data-test=email]').fill(`rule-${Date.now()}@example.com`)
        await page.locator('[data-test=password]').fill('password')
        await page.locator('[data-test=auth-submit]').click()
        await page.locator('[data-test=auth-error]', { hasText: 'too common' }).waitFor()
        await screenshot(page, 'chatux-public-password-refused-1280')
        await page.locator('[data-test=password]').fill('violet kettle 42')
        await page.locator('[data-test=auth-submit]').click()
        await page.locator('[data-test=clone-status]', { hasText: 'online' }).waitFor({ timeout: 60_000 })
        assert.equal((await page.locator('[data-test=clone-status]').innerText()).trim(), 'online', 'no transport names for visitors')

        await page.locator('[data-test=composer-input]').fill('Hello, who are you?')
        await page.keyboard.press('Enter')
        await page.locator('.message-assistant[data-status=done]').waitFor(ANSWER_TIMEOUT)
        await page.waitForURL(/\/chat\/[^/]+$/)
        const address = new URL(page.url()).pathname
        await page.goto('/')
        await page.locator('.message-user', { hasText: 'Hello, who are you?' }).waitFor()
        assert.equal(new URL(page.url()).pathname, address, 'opening the chat again reopens the last conversation')
        await assertAccessible(page, 'public chat 1280')
        await screenshot(page, 'chatux-public-chat-1280')
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
      }
    })

    it('issue 25 public sign-up closed: the form is disabled with a sentence (RU 360, axe)', TEST_TIMEOUT, async () => {
      const token = await ownerToken(ctx.gateway.url, ctx.owner)
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.front.url, viewport: PHONE })
      try {
        await setRegistration(ctx.gateway.url, token, 'closed')
        await page.goto('/register')
        await inRussian(page)
        await page.locator('[data-test=registration-closed]', { hasText: 'Регистрация закрыта' }).waitFor()
        assert.ok(await page.locator('[data-test=email]').isDisabled(), 'closed: the fields are disabled')
        assert.ok(await page.locator('[data-test=auth-submit]').isDisabled(), 'closed: nothing to submit')
        assert.match(await page.locator('[data-test=password-rule]').innerText(), /Не меньше 8 символов/)
        assert.ok(await fitsViewport(page), 'the sign-up page fits 360 px')
        await assertAccessible(page, 'sign-up closed 360 ru')
        await screenshot(page, 'chatux-public-closed-360-ru')
        assert.deepEqual(page.errors, [])
      } finally {
        await setRegistration(ctx.gateway.url, token, 'open')
        await context.close()
      }
    })
  })
}
