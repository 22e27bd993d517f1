// "Use at home": a user takes a LAN token in the public chat, then chats on the agent's LAN page
// with it; the conversation is the agent's, in the admin's list with the user's name.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertAccessible } from './support/a11y.mjs'
import { PHONE, newPage, screenshot } from './support/browser.mjs'

const TEST_TIMEOUT = { timeout: 180_000 }

export function lanTests(ctx) {
  describe('use at home (LAN listener)', () => {
    it('a LAN token from the public chat opens the LAN chat page, whose chat lands in the admin', TEST_TIMEOUT, async () => {
      const email = `home-${Date.now()}@example.com`
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.front.url })
      try {
        await page.goto('/register')
        await page.locator('[data-test=email]').fill(email)
        await page.locator('[data-test=password]').fill('correct-horse-42')
        await page.locator('[data-test=auth-submit]').click()
        await page.locator('[data-test=composer-input]').waitFor()
        await page.goto('/home')
        await page.locator('[data-test=lan-empty]').waitFor()
        await page.locator('[data-test=lan-name]').fill('kitchen tablet')
        await page.locator('[data-test=lan-create]').click()
        const token = (await page.locator('[data-test=secret-value]').innerText()).trim()
        assert.match(token, /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/)
        await page.locator('[data-test=lan-row]', { hasText: 'kitchen tablet' }).waitFor()
        await screenshot(page, 'use-at-home-1280')
        await assertAccessible(page, 'use at home 1280')

        // the page says where the clone answers at home (the agent reported it) and shows a QR code
        // that opens the LAN page there already signed in: a second device with no token to paste
        assert.equal(await page.locator('[data-test=lan-address] a').getAttribute('href'), ctx.agent.lanUrl)
        const link = await page.locator('[data-test=lan-qr] [data-test=qr-code]').getAttribute('data-value')
        assert.equal(link, `${ctx.agent.lanUrl}/#token=${encodeURIComponent(token)}`)
        const phone = await newPage(ctx.browser, { viewport: PHONE })
        try {
          await phone.page.goto(link)
          await phone.page.locator('#who', { hasText: email }).waitFor()
          assert.equal(new URL(phone.page.url()).hash, '') // the token leaves the address bar
          await screenshot(phone.page, 'lan-from-qr-360')
          // that phone pairs a third device with a short one-time code instead of the token
          await phone.page.locator('#pair-device').click()
          // the code arrives from the agent after the click: wait for it, then read it
          await phone.page.locator('#pairing-code', { hasText: /^[A-Z2-9]{4}-[A-Z2-9]{4}$/ }).waitFor()
          const code = (await phone.page.locator('#pairing-code').innerText()).trim()
          assert.match(code, /^[A-Z2-9]{4}-[A-Z2-9]{4}$/)
          await screenshot(phone.page, 'lan-pairing-code-360')
          const tablet = await newPage(ctx.browser, { viewport: PHONE })
          try {
            await tablet.page.goto(ctx.agent.lanUrl)
            await tablet.page.locator('#code').fill(code.toLowerCase())
            await assertAccessible(tablet.page, 'LAN sign-in with a pairing code')
            await tablet.page.locator('#pair').click()
            await tablet.page.locator('#who', { hasText: email }).waitFor()
            await tablet.page.locator('#signout').click() // the code was good once: a second try is refused
            await tablet.page.locator('#code').fill(code)
            await tablet.page.locator('#pair').click()
            await tablet.page.locator('#signin-error', { hasText: 'pairing code refused' }).waitFor()
          } finally {
            await tablet.context.close()
          }
        } finally {
          await phone.context.close()
        }

        await page.goto(ctx.agent.lanUrl)
        await page.locator('#token').fill(token)
        await page.locator('#save').click()
        await page.locator('#who', { hasText: email }).waitFor()
        await page.locator('#message').fill('Hello from the kitchen!')
        await page.locator('#send').click()
        const answer = page.locator('#log .assistant')
        await page.locator('#conversations button', { hasText: 'Hello from the kitchen!' }).waitFor({ timeout: 90_000 })
        const text = (await answer.innerText()).trim()
        assert.ok(text.length > 0)
        await screenshot(page, 'lan-chat-1280')
        await assertAccessible(page, 'LAN chat page 1280')

        const conversations = await (await fetch(`${ctx.agent.url}/api/conversations`)).json()
        const mine = conversations.find((c) => c.title === 'Hello from the kitchen!')
        assert.equal(mine.channel, 'lan')
        assert.equal(mine.author, email)
        const stored = await (await fetch(`${ctx.agent.url}/api/conversations/${mine.id}`)).json()
        assert.equal(stored.messages[1].content, text)

        // the owner sees it in the admin's conversation list: where it came from and who wrote it
        const admin = await context.newPage()
        await admin.goto(`${ctx.agent.url}/chat`)
        const item = admin.locator('[data-test=admin-conversation]', { hasText: 'Hello from the kitchen!' })
        await item.waitFor()
        assert.equal((await item.locator('[data-test=author]').innerText()).trim(), email)
        assert.match(await item.innerText(), /home network/)
        await admin.close()

        // a wrong token is refused with the reason, and the page asks for a token again
        await page.locator('#signout').click()
        await page.locator('#token').fill(`${token.slice(0, -4)}AAAA`)
        await page.locator('#save').click()
        await page.locator('#signin-error', { hasText: 'LAN token refused' }).waitFor()
      } finally {
        await context.close()
      }
    })
  })
}
