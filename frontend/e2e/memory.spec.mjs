// "What the clone remembers about me" (issue 24) in the public chat, over the real gateway and
// agent: a user's rounds are listed there, searched, erased one by one and all at once, and the
// erasure reaches the agent (its admin API no longer has them).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertAccessible } from './support/a11y.mjs'
import { newPage, screenshot } from './support/browser.mjs'

const TEST_TIMEOUT = { timeout: 240_000 }
const PASSWORD = 'correct-horse-42'

async function agentMemories(agentUrl, person) {
  const response = await fetch(`${agentUrl}/api/memories?person=${encodeURIComponent(person)}`)
  assert.equal(response.status, 200)
  return (await response.json()).memories
}

/** The user's id and a LAN token of theirs (a session of this test's own, beside the page's). */
async function account(baseUrl, email) {
  const login = await fetch(`${baseUrl}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password: PASSWORD }),
  })
  const headers = { Authorization: `Bearer ${(await login.json()).access_token}`, 'Content-Type': 'application/json' }
  const { id } = await (await fetch(`${baseUrl}/api/users/me`, { headers })).json()
  const lan = await fetch(`${baseUrl}/api/lan-tokens`, { method: 'POST', headers, body: JSON.stringify({ name: 'memory test' }) })
  return { id, lanToken: (await lan.json()).token }
}

async function askAndWait(page, text, answers) {
  await page.locator('[data-test=composer-input]').fill(text)
  await page.keyboard.press('Enter')
  await page.locator('.message-assistant[data-status=done]').nth(answers).waitFor({ timeout: 90_000 })
}

export function memoryTests(ctx) {
  describe('memory panel (public chat)', () => {
    it('lists what the clone remembers about me, searches it, and deletes one and all', TEST_TIMEOUT, async () => {
      const email = `memory-${Date.now()}@example.com`
      const { page } = await newPage(ctx.browser, { baseURL: ctx.front.url })
      try {
        await page.goto('/register')
        await page.locator('[data-test=email]').fill(email)
        await page.locator('[data-test=password]').fill(PASSWORD)
        await page.locator('[data-test=auth-submit]').click()
        await page.locator('[data-test=clone-status]', { hasText: 'online' }).waitFor({ timeout: 60_000 })
        await askAndWait(page, 'Remember that my dog is called Rexford', 0)
        await askAndWait(page, 'I live in Tallinn by the sea', 1)

        // whose the rounds are on the agent: this user's own person key
        const { id, lanToken } = await account(ctx.front.url, email)
        const person = `user:${id}`
        for (let attempt = 0; (await agentMemories(ctx.agent.url, person)).length < 2; attempt += 1) {
          assert.ok(attempt < 300, 'the two rounds were never kept')
          await new Promise((resolve) => setTimeout(resolve, 100))
        }

        await page.locator('[data-test=to-memories]').click()
        await page.waitForURL('**/memories')
        const items = page.locator('[data-test=memory-item]')
        await items.nth(1).waitFor()
        assert.equal(await items.count(), 2)
        assert.match(await items.filter({ hasText: 'Rexford' }).innerText(), /remembered from/)
        await screenshot(page, 'memories-1280')
        await assertAccessible(page, 'memories page 1280')

        await page.locator('[data-test=memory-search]').fill('Tallinn')
        await page.locator('[data-test=memory-search-submit]').click()
        await items.filter({ hasText: 'Tallinn' }).waitFor()
        await page.locator('[data-test=memory-search]').fill('')
        await page.locator('[data-test=memory-search-submit]').click()
        await items.nth(1).waitFor()

        await items.filter({ hasText: 'Rexford' }).locator('[data-test=memory-delete]').click()
        await items.filter({ hasText: 'Rexford' }).waitFor({ state: 'detached' })
        const left = await agentMemories(ctx.agent.url, person)
        assert.equal(left.length, 1)
        assert.ok(!left.some((m) => m.text.includes('Rexford')))

        // the LAN page shows the same person's memories (the LAN token's user), without the erased one
        const lan = await page.context().newPage()
        await lan.goto(ctx.agent.lanUrl)
        await lan.locator('#token').fill(lanToken)
        await lan.locator('#save').click()
        await lan.locator('#memory summary').click()
        await lan.locator('#memory-list li', { hasText: 'Tallinn' }).waitFor()
        assert.equal(await lan.locator('#memory-list li').count(), 1)
        await screenshot(lan, 'lan-memories-1280')
        await assertAccessible(lan, 'LAN memory panel 1280')
        await lan.close()

        await page.locator('[data-test=memory-delete-all]').click()
        await page.locator('[data-test=memory-delete-all-confirm]').click()
        await page.locator('[data-test=memory-empty]').waitFor()
        assert.match(await page.locator('[data-test=memory-erased]').innerText(), /1/)
        assert.deepEqual(await agentMemories(ctx.agent.url, person), [])
      } finally {
        await page.close()
      }
    })
  })
}
