// The admin panel, served by the real agent: persona, test chat, documents, safety, layouts.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DESKTOP, PHONE, fitsViewport, newPage, screenshot } from './support/browser.mjs'
import { XSS_CORPUS, assertInert } from './support/xss.mjs'

const TEST_TIMEOUT = { timeout: 150_000 }

/** Waits until the field shows the value (it fills in once the page has loaded its data). */
async function waitForValue(page, selector, expected) {
  await page.waitForFunction(([sel, value]) => document.querySelector(sel)?.value === value, [selector, expected], { timeout: 15_000 })
}

export function adminTests(ctx) {
  describe('admin panel (agent)', () => {
    it('the owner edits the prompt, it is saved, and the test chat answers', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url })
      try {
        await page.goto('/persona')
        const name = page.locator('[data-test=persona-name]')
        await waitForValue(page, '[data-test=persona-name]', 'E2E Clone')
        await name.fill('Ada')
        await page.locator('[data-test=persona-prompt]').fill('You are Ada, a friendly clone. Answer in one short sentence.')
        await page.locator('[data-test=persona-save]').click()
        await page.locator('[data-test=persona-saved]').waitFor()
        const saved = await (await fetch(`${ctx.agent.url}/api/clone`)).json()
        assert.equal(saved.name, 'Ada')
        assert.equal(saved.system_prompt, 'You are Ada, a friendly clone. Answer in one short sentence.')
        await page.reload()
        await waitForValue(page, '[data-test=persona-name]', 'Ada')
        await screenshot(page, 'admin-persona-1280')

        await page.locator('[data-test=nav-test-chat]').click()
        await page.locator('[data-test=composer-input]').fill('Hello! What is your name?')
        await page.keyboard.press('Enter')
        const answer = page.locator('.message-assistant[data-status=done]')
        await answer.waitFor({ timeout: 90_000 })
        const text = (await answer.innerText()).trim()
        assert.ok(text.length > 0, 'the answer is not empty')
        const conversations = await (await fetch(`${ctx.agent.url}/api/conversations`)).json()
        const stored = await (await fetch(`${ctx.agent.url}/api/conversations/${conversations[0].id}`)).json()
        assert.equal(stored.messages.at(-2).content, 'Hello! What is your name?')
        assert.ok(stored.messages.at(-1).content.trim().length > 0)
        await screenshot(page, 'admin-test-chat-1280')
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
      }
    })

    it('a document is uploaded with progress, becomes ready, is searchable and deletable', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url })
      try {
        await page.goto('/documents')
        const content = '# Travel notes\n\nThe clone spent the summer of 2024 in Reykjavik studying glaciers and basalt columns.\n'
        await page.locator('[data-test=upload-input]').setInputFiles({ name: 'travel-notes.md', mimeType: 'text/markdown', buffer: Buffer.from(content) })
        const row = page.locator('[data-test=document]', { hasText: 'travel-notes.md' })
        await row.waitFor({ timeout: 30_000 })
        await page.locator('[data-test=document][data-status=ready]', { hasText: 'travel-notes.md' }).waitFor({ timeout: 120_000 })
        assert.equal(await page.locator('[data-test=upload]').count(), 0, 'the upload row is gone once done')

        await page.locator('[data-test=search-input]').fill('glaciers in Reykjavik')
        await page.locator('[data-test=search-submit]').click()
        const hits = page.locator('[data-test=search-hits]')
        await hits.waitFor()
        assert.match(await hits.innerText(), /travel-notes\.md/)
        await screenshot(page, 'admin-documents-1280')

        await row.locator('[data-test=document-delete]').click()
        await row.waitFor({ state: 'detached' })
        const left = await (await fetch(`${ctx.agent.url}/api/rag/documents`)).json()
        assert.equal(left.filter((d) => d.name === 'travel-notes.md').length, 0)
      } finally {
        await context.close()
      }
    })

    it('hostile model output and file names render inert', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url })
      try {
        // A document whose name is markup, uploaded to the real agent.
        const hostileName = '<img src=x onerror="window.__xss=1">.md'
        await page.goto('/documents')
        await page.locator('[data-test=upload-input]').setInputFiles({ name: hostileName, mimeType: 'text/markdown', buffer: Buffer.from('hostile name test') })
        const row = page.locator('[data-test=document]', { hasText: 'onerror' })
        await row.waitFor({ timeout: 30_000 })
        // Shown as text, exactly as the agent stored it (browsers may percent-encode quotes in file names).
        const stored = (await (await fetch(`${ctx.agent.url}/api/rag/documents`)).json()).find((d) => d.name.includes('onerror'))
        assert.match(stored.name, /^<img src=x onerror=/)
        assert.equal(await row.locator('.document-name').innerText(), stored.name)
        await assertInert(page)

        // Model output: the test chat's stream carries the corpus (the model cannot be steered to say it).
        const body = [...XSS_CORPUS.map((item) => `data: ${JSON.stringify({ delta: `${item}\n\n` })}\n\n`),
          `data: ${JSON.stringify({ done: true, conversation_id: 'x', finish_reason: 'stop', usage: {} })}\n\n`].join('')
        await page.route('**/api/chat/stream', (route) => route.fulfill({ status: 200, headers: { 'content-type': 'text/event-stream' }, body }))
        await page.locator('[data-test=nav-test-chat]').click()
        await page.locator('[data-test=composer-input]').fill('say something nasty')
        await page.keyboard.press('Enter')
        await page.locator('.message-assistant[data-status=done]').waitFor()
        for (const link of await page.locator('.message-assistant a').all()) await link.click({ modifiers: [], trial: false }).catch(() => undefined)
        await page.waitForTimeout(300)
        await assertInert(page)
        await screenshot(page, 'admin-xss-inert-1280')

        const documents = await (await fetch(`${ctx.agent.url}/api/rag/documents`)).json()
        for (const d of documents.filter((doc) => doc.name.includes('onerror'))) await fetch(`${ctx.agent.url}/api/rag/documents/${d.id}`, { method: 'DELETE' })
      } finally {
        await context.close()
      }
    })

    it('every screen fits a 360 px phone and a 1280 px desktop', TEST_TIMEOUT, async () => {
      const screens = [
        { path: '/', ready: '[data-test=checklist]' },
        { path: '/persona', ready: '[data-test=persona-name]' },
        { path: '/chat', ready: '[data-test=composer-input]' },
        { path: '/documents', ready: '[data-test=upload-input]' },
        { path: '/status', ready: '[data-test=status-backend]' },
        { path: '/overview', ready: '[data-test=overview-mode]' },
        { path: '/gateway', ready: '[data-test=gateway-mode]' },
        { path: '/telegram', ready: '[data-test=telegram-status]' },
      ]
      for (const [label, viewport] of [['360', PHONE], ['1280', DESKTOP]]) {
        const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url, viewport })
        try {
          for (const screen of screens) {
            await page.goto(screen.path)
            await page.locator(screen.ready).waitFor()
            assert.ok(await fitsViewport(page), `${screen.path} fits ${label} px`)
            await screenshot(page, `admin${screen.path.replace('/', '-')}-${label}`)
          }
          assert.equal(await page.locator('[data-test=status-backend]').count(), 0)
          await page.goto('/status')
          assert.equal(await page.locator('[data-test=status-backend]').innerText(), 'llama_cpp')
          const gpu = (await (await fetch(`${ctx.agent.url}/api/status`)).json()).gpu
          // the page says the reason's code in its language, never the agent's English (or nvidia-smi's words)
          const said = await page.locator('[data-test=status-gpu-reason]').innerText()
          assert.ok(gpu.reason_code, 'the agent gives its GPU reason a code')
          assert.notEqual(said, gpu.reason)
          if (gpu.reason_code === 'gpu_not_found') assert.equal(said, 'No NVIDIA GPU was found, so the model runs on the CPU.')
          assert.match(await page.locator('[data-test=status-gpu-layers]').innerText(), new RegExp(`^${gpu.layers_offloaded} / ${gpu.layers_total}`))
          await page.locator('[data-test=metrics]').waitFor()
          await page.goto('/gateway')
          await page.locator('[data-test=gateway-link] .badge-ok').waitFor({ timeout: 30_000 }) // linked to the test gateway
          assert.notEqual(await page.locator('[data-test=gateway-mode]').innerText(), 'offline')
          assert.deepEqual(page.errors, [])
        } finally {
          await context.close()
        }
      }
    })
  })
}
