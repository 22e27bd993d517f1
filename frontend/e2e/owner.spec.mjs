// The owner's pages in the public web app (API keys, agent tokens, users, who may sign up with
// single-use invite links) and the admin's test chat (conversation list kept across reloads,
// message actions, the thinking state, openable sources); desktop and phone, with axe-core.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertAccessible } from './support/a11y.mjs'
import { DESKTOP, PHONE, fitsViewport, newPage, screenshot } from './support/browser.mjs'

const TEST_TIMEOUT = { timeout: 180_000 }

async function logIn(page, { email, password }) {
  await page.goto('/login')
  await page.locator('[data-test=email]').fill(email)
  await page.locator('[data-test=password]').fill(password)
  await page.locator('[data-test=auth-submit]').click()
  await page.locator('[data-test=composer-input]').waitFor()
}

async function signUp(page, path, email) {
  await page.goto(path)
  await page.locator('[data-test=email]').fill(email)
  await page.locator('[data-test=password]').fill('plain-user-pass-1')
  await page.locator('[data-test=auth-submit]').click()
}

const secret = (page) => page.locator('[data-test=secret-value]').innerText()

export function ownerTests(ctx) {
  describe('owner pages and the admin test chat', () => {
    it('the owner makes an API key, an agent token and a single-use invite link; a plain user never sees the owner page', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.front.url })
      const guest = await newPage(ctx.browser, { baseURL: ctx.front.url, viewport: PHONE })
      try {
        await logIn(page, ctx.owner)
        await page.locator('[data-test=to-keys]').click()
        await page.locator('[data-test=key-name]').fill('my script')
        await page.locator('[data-test=key-create]').click()
        const key = await secret(page)
        assert.match(key, /^sk-aic-/)
        const models = await fetch(`${ctx.gateway.url}/v1/models`, { headers: { Authorization: `Bearer ${key}` } })
        assert.equal(models.status, 200, 'the new key works with the OpenAI API')
        await page.locator('[data-test=key-row]', { hasText: 'my script' }).waitFor()
        await assertAccessible(page, 'API keys 1280')
        await screenshot(page, 'owner-keys-1280')
        await page.locator('[data-test=secret-done]').click()
        await page.locator('[data-test=key-revoke]').click()
        await page.locator('[data-test=keys-empty]').waitFor()
        const revoked = await fetch(`${ctx.gateway.url}/v1/models`, { headers: { Authorization: `Bearer ${key}` } })
        assert.equal(revoked.status, 401, 'a revoked key stops working')

        await page.locator('[data-test=nav-owner]').click()
        await page.locator('[data-test=user-row]', { hasText: ctx.owner.email }).waitFor()
        // the test agent is linked: its row shows how (mode), how busy it is and what it serves
        const linkedRow = page.locator('[data-test=token-row][data-linked=true]').first()
        await linkedRow.waitFor()
        assert.match(await linkedRow.locator('[data-test=token-mode]').innerText(), /^(relay|direct|hybrid)$/)
        assert.match(await linkedRow.locator('[data-test=token-load]').innerText(), /running/)
        assert.match(await linkedRow.locator('[data-test=token-serves]').innerText(), /persona [0-9a-f]{6}/)
        await page.locator('[data-test=token-name]').fill('laptop')
        await page.locator('[data-test=token-create]').click()
        // the token comes with this gateway's address, in one line the agent's Gateway page takes whole
        const pairing = new URL(await secret(page))
        assert.equal(pairing.protocol, 'aiclone:')
        assert.equal(pairing.searchParams.get('gateway'), ctx.gateway.url)
        assert.match(pairing.searchParams.get('token'), /^agt_/)
        const tokenRow = page.locator('[data-test=token-row]', { hasText: 'laptop' })
        await tokenRow.waitFor()
        await page.locator('[data-test=secret-done]').click()
        await tokenRow.locator('[data-test=token-revoke]').click()
        await tokenRow.waitFor({ state: 'detached' })

        await page.locator('[data-test=mode-invite]').check()
        await page.locator('[data-test=registration-saved]').waitFor()
        await page.locator('[data-test=invite-create]').click()
        const link = await secret(page)
        assert.match(link, /\/register\?invite=inv_/)
        await assertAccessible(page, 'owner page 1280')
        await screenshot(page, 'owner-page-1280')

        // Without the link nobody gets in; with it, exactly one person does.
        await signUp(guest.page, '/register', `stranger-${Date.now()}@example.com`)
        await guest.page.locator('[data-test=auth-error]', { hasText: 'invite' }).waitFor()
        const invitePath = new URL(link).pathname + new URL(link).search
        await signUp(guest.page, invitePath, `friend-${Date.now()}@example.com`)
        await guest.page.locator('[data-test=composer-input]').waitFor()
        assert.equal(await guest.page.locator('[data-test=to-owner]').count(), 0, 'no owner link for a plain user')
        await guest.page.goto('/owner')
        await guest.page.waitForURL((url) => !url.pathname.startsWith('/owner'))
        assert.ok(await fitsViewport(guest.page), 'the chat fits 360 px')
        await guest.page.locator('[data-test=logout]').click()
        await guest.page.waitForURL('**/login')
        await signUp(guest.page, invitePath, `second-${Date.now()}@example.com`)
        await guest.page.locator('[data-test=auth-error]', { hasText: 'already used' }).waitFor()

        await page.reload()
        await page.locator('[data-test=invite-row]').filter({ hasNotText: 'not used' }).waitFor()
        await page.locator('[data-test=mode-open]').check()
        await page.locator('[data-test=registration-saved]').waitFor()
        assert.deepEqual(page.errors, [])
        assert.deepEqual(guest.page.errors, [])
      } finally {
        await Promise.allSettled([context.close(), guest.context.close()])
      }
    })

    it('the owner blocks a signed-in user: their open chat ends on the login page saying why; back in, then deleted', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.front.url })
      const guest = await newPage(ctx.browser, { baseURL: ctx.front.url, viewport: PHONE })
      const email = `blocked-${Date.now()}@example.com`
      try {
        await signUp(guest.page, '/register', email)
        await guest.page.locator('[data-test=composer-input]').waitFor()
        await logIn(page, ctx.owner)
        await page.goto('/owner')
        const row = page.locator('[data-test=user-row]', { hasText: email })
        await row.locator('[data-test=user-block]').click()
        await page.locator(`[data-test=user-row][data-role=blocked]`, { hasText: email }).waitFor()
        // The guest's open chat is closed by the gateway at once and never reconnects.
        await guest.page.waitForURL('**/login')
        const banner = guest.page.locator('[data-test=account-ended]')
        assert.match(await banner.innerText(), /blocked/)
        await guest.page.locator('[data-test=email]').fill(email)
        await guest.page.locator('[data-test=password]').fill('plain-user-pass-1')
        await guest.page.locator('[data-test=auth-submit]').click()
        await guest.page.locator('[data-test=auth-error]', { hasText: 'blocked' }).waitFor()
        await assertAccessible(page, 'owner page with a blocked user 1280')
        await screenshot(page, 'owner-users-blocked-1280')

        await row.locator('[data-test=user-unblock]').click()
        await page.locator(`[data-test=user-row][data-role=user]`, { hasText: email }).waitFor()
        await logIn(guest.page, { email, password: 'plain-user-pass-1' })

        await row.locator('[data-test=user-delete]').click()
        assert.equal(await row.count(), 1, 'the first click only asks')
        await row.locator('[data-test=user-delete]').click()
        await row.waitFor({ state: 'detached' })
        await guest.page.waitForURL('**/login')
        assert.match(await guest.page.locator('[data-test=account-ended]').innerText(), /deleted/)
        assert.deepEqual(page.errors, [])
        assert.deepEqual(guest.page.errors, [])
      } finally {
        await Promise.allSettled([context.close(), guest.context.close()])
      }
    })

    it('the owner pages fit a phone and pass axe in Russian', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.front.url, viewport: PHONE })
      try {
        await logIn(page, ctx.owner)
        await page.locator('[data-test=language]').selectOption('ru')
        await page.goto('/owner')
        await page.locator('[data-test=user-row]').first().waitFor()
        assert.ok(await fitsViewport(page), 'the owner page fits 360 px')
        assert.equal(await page.locator('h1').innerText(), 'Владелец')
        await assertAccessible(page, 'owner page 360 ru')
        await screenshot(page, 'owner-page-360-ru')
        await page.goto('/keys')
        await page.locator('[data-test=key-create]').waitFor()
        assert.ok(await fitsViewport(page), 'the API keys page fits 360 px')
        await assertAccessible(page, 'API keys 360 ru')
        await screenshot(page, 'owner-keys-360-ru')
        // The dark theme passes the same contrast checks, and the choice survives a reload.
        await page.locator('[data-test=theme]').selectOption('dark')
        await page.reload()
        await page.locator('[data-test=key-create]').waitFor()
        assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark')
        await assertAccessible(page, 'API keys 360 dark')
        await screenshot(page, 'owner-keys-360-dark')
      } finally {
        await context.close()
      }
    })

    it('the admin test chat keeps its conversations across reloads; rename, search, regenerate, edit, delete', TEST_TIMEOUT, async () => {
      for (const viewport of [DESKTOP, PHONE]) {
        const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url, viewport })
        const label = viewport === PHONE ? '360' : '1280'
        try {
          await page.goto('/chat')
          await page.locator('[data-test=test-chat-new]').click()
          // Hold the answer back a moment: the bubble says "Thinking" until the first token.
          await page.route('**/api/chat/stream', async (route) => {
            await new Promise((resolve) => setTimeout(resolve, 800))
            await route.continue()
          })
          const question = `Name a colour (${label})`
          await page.locator('[data-test=composer-input]').fill(question)
          await page.keyboard.press('Enter')
          await page.locator('[data-test=thinking]').waitFor()
          await page.locator('.message-assistant[data-status=done]').waitFor({ timeout: 90_000 })
          const item = page.locator('[data-test=admin-conversation]', { hasText: question })
          await item.waitFor()

          await page.reload()
          await page.locator('.message-user', { hasText: question }).waitFor()
          assert.equal(await page.locator('.message-assistant').count(), 1, 'the answer is back after a reload')

          await item.locator('[data-test=rename]').click()
          await page.locator('[data-test=rename-input]').fill(`Colours ${label}`)
          await page.locator('[data-test=rename-save]').click()
          await page.locator('[data-test=admin-conversation]', { hasText: `Colours ${label}` }).waitFor()
          await page.locator('[data-test=conversation-search]').fill(`Colours ${label}`)
          await page.waitForFunction(
            (name) => [...document.querySelectorAll('[data-test=admin-conversation]')].every((li) => li.textContent.includes(name)),
            `Colours ${label}`,
          )

          // The old answer is `done` until the new one starts: wait for the new one's "Thinking"
          // (the route above holds each stream back) before waiting for it to finish.
          await page.locator('[data-test=regenerate]').click()
          await page.locator('[data-test=thinking]').waitFor()
          await page.locator('.message-assistant[data-status=done]').waitFor({ timeout: 90_000 })
          await page.locator('.message-user [data-test=edit]').click()
          await page.locator('[data-test=edit-input]').fill(`Name a fruit (${label})`)
          await page.locator('[data-test=edit-send]').click()
          await page.locator('.message-user', { hasText: 'Name a fruit' }).waitFor()
          await page.locator('[data-test=thinking]').waitFor()
          await page.locator('.message-assistant[data-status=done]').waitFor({ timeout: 90_000 })
          const conversations = await (await fetch(`${ctx.agent.url}/api/conversations?q=${encodeURIComponent(`Colours ${label}`)}`)).json()
          const stored = await (await fetch(`${ctx.agent.url}/api/conversations/${conversations[0].id}`)).json()
          assert.deepEqual(stored.messages.map((m) => m.role), ['user', 'assistant'])
          assert.equal(stored.messages[0].content, `Name a fruit (${label})`)
          assert.ok(await fitsViewport(page), `the test chat fits ${label} px`)
          await assertAccessible(page, `test chat ${label}`)
          await screenshot(page, `admin-test-chat-actions-${label}`)

          await page.locator('[data-test=admin-conversation]', { hasText: `Colours ${label}` }).locator('[data-test=delete]').click()
          await page.locator('[data-test=admin-conversation]', { hasText: `Colours ${label}` }).waitFor({ state: 'detached' })
          assert.equal(await page.locator('[data-test=message]').count(), 0)
          assert.deepEqual(page.errors, [])
        } finally {
          await context.close()
        }
      }
    })

    it('the owner edits the persona of the public web channel in the admin', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url, viewport: PHONE })
      try {
        await page.goto('/persona')
        await page.locator('[data-test=channel-web]').check()
        await page.locator('[data-test=channel-prompt]').fill('Visitors from the web: be formal.')
        await page.locator('[data-test=channel-max-tokens]').fill('40')
        // no adapter in this bundle: no strength field to set (issue 25)
        assert.equal(await page.locator('[data-test=channel-adapter-scale]').count(), 0)
        await page.locator('[data-test=channel-knowledge]').selectOption('none')
        await page.locator('[data-test=channel-memory]').selectOption('off')
        await page.locator('[data-test=channel-save]').click()
        await page.locator('[data-test=channel-saved]').waitFor()
        const saved = await (await fetch(`${ctx.agent.url}/api/channels`)).json()
        assert.deepEqual(saved.web, {
          system_prompt_extra: 'Visitors from the web: be formal.',
          max_tokens: 40,
          adapter_scale: null,
          knowledge: 'none',
          documents: [],
          memory: 'off',
        })
        assert.equal(saved.owner.system_prompt_extra, '')
        assert.ok(await fitsViewport(page), 'the persona page fits 360 px')
        await assertAccessible(page, 'persona channels 360')
        await screenshot(page, 'admin-channels-360')
        await fetch(`${ctx.agent.url}/api/channels`, {
          method: 'PUT',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ web: { system_prompt_extra: '', max_tokens: null, adapter_scale: null, knowledge: 'all', documents: [], memory: 'on' } }),
        })
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
      }
    })

    it('a citation opens its passage in the admin test chat', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url })
      try {
        const form = new FormData()
        form.append('file', new Blob(['The lighthouse on Skerry Point was painted teal in 1987 by the keeper Ingrid.\n']), 'lighthouse.txt')
        const uploaded = await (await fetch(`${ctx.agent.url}/api/rag/documents`, { method: 'POST', body: form })).json()
        for (let i = 0; i < 600; i += 1) {
          const docs = await (await fetch(`${ctx.agent.url}/api/rag/documents`)).json()
          if (docs.find((d) => d.id === uploaded.id)?.status === 'ready') break
          await new Promise((resolve) => setTimeout(resolve, 200))
        }
        await page.goto('/chat')
        await page.locator('[data-test=test-chat-new]').click()
        await page.locator('[data-test=composer-input]').fill('What colour is the Skerry Point lighthouse?')
        await page.keyboard.press('Enter')
        await page.locator('.message-assistant[data-status=done]').waitFor({ timeout: 90_000 })
        const source = page.locator('[data-test=source]', { hasText: 'lighthouse.txt' }).first()
        await source.locator('summary').click()
        const passage = source.locator('[data-test=source-text]')
        await passage.waitFor()
        assert.match(await passage.innerText(), /painted teal in 1987/)
        await assertAccessible(page, 'source opened')
        await screenshot(page, 'admin-source-open-1280')
        await fetch(`${ctx.agent.url}/api/rag/documents/${uploaded.id}`, { method: 'DELETE' })
      } finally {
        await context.close()
      }
    })
  })
}
