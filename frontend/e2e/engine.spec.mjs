// The admin's Engine page (/status, "Engine & model"): the model's readable name, generation
// defaults saved and used from the next answer, load settings marked "applies with Apply" and
// applied in-process by "Apply now", the model picker; at 1280 px and on a 360 px phone (in Russian), with axe checks.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertAccessible } from './support/a11y.mjs'
import { DESKTOP, PHONE, fitsViewport, newPage, screenshot } from './support/browser.mjs'

const TEST_TIMEOUT = { timeout: 150_000 }

async function settings(agent) {
  return (await fetch(`${agent.url}/api/engine/settings`)).json()
}

function putSettings(agent, values) {
  return fetch(`${agent.url}/api/engine/settings`, {
    method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(values),
  })
}

/** POST /api/engine/reload, then a bounded poll of /api/status until it has settled. */
async function reloadEngine(agent) {
  assert.equal((await fetch(`${agent.url}/api/engine/reload`, { method: 'POST' })).status, 202)
  const deadline = Date.now() + 120_000
  for (;;) {
    const { engine_reload: reload } = await (await fetch(`${agent.url}/api/status`)).json()
    if (reload.state === 'done') return
    assert.notEqual(reload.state, 'failed', reload.error)
    assert.ok(Date.now() < deadline, `the reload did not settle: ${JSON.stringify(reload)}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function waitForValue(page, selector, expected) {
  await page.waitForFunction(([sel, value]) => document.querySelector(sel)?.value === value, [selector, expected], { timeout: 15_000 })
}

export function engineTests(ctx) {
  describe('admin engine page (agent)', () => {
    it('the owner edits the temperature, it survives a reload, and n_ctx applies with Apply', TEST_TIMEOUT, async () => {
      const original = await settings(ctx.agent)
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url, viewport: DESKTOP })
      try {
        await page.goto('/status')
        await waitForValue(page, '[data-test=setting-temperature]', String(original.temperature))
        assert.equal(await page.locator('[data-test=status-model]').innerText(), 'SmolLM2 135M Instruct · Q4_1')
        assert.equal(await page.locator('[data-test=setting-n_ctx-when]').innerText(), 'applies with Apply')
        assert.equal(await page.locator('[data-test=setting-temperature-when]').innerText(), 'applies to the next answer')
        await page.locator('[data-test=engine]').waitFor() // the batching numbers stay on the page
        const running = page.locator('[data-test=model]', { hasText: 'SmolLM2 135M Instruct · Q4_1' })
        await running.locator('.badge-ok').waitFor()

        // a value out of range: refused under its field, nothing saved
        await page.locator('[data-test=setting-temperature]').fill('5')
        await page.locator('[data-test=engine-settings-save]').click()
        const refusal = page.locator('[data-test=setting-temperature-error]')
        await refusal.waitFor()
        assert.equal((await refusal.innerText()).trim(), 'At most 2.') // field_codes: too_large {max: 2}
        assert.equal(await page.locator('[data-test=setting-temperature]').getAttribute('aria-invalid'), 'true')
        assert.equal((await settings(ctx.agent)).temperature, original.temperature)
        await assertAccessible(page, 'engine page refusal 1280')

        // a good one: saved, kept after a reload, live (no restart mark)
        await page.locator('[data-test=setting-temperature]').fill('0.35')
        await page.locator('[data-test=engine-settings-save]').click()
        await page.locator('[data-test=engine-settings-saved]').waitFor()
        assert.equal(await refusal.count(), 0)
        assert.equal((await settings(ctx.agent)).temperature, 0.35)
        await page.reload()
        await waitForValue(page, '[data-test=setting-temperature]', '0.35')
        assert.equal(await page.locator('[data-test=engine-pending-restart]').count(), 0)

        // the context size is saved for the next start and says so
        await page.locator('[data-test=setting-n_ctx]').fill('1024')
        await page.locator('[data-test=engine-settings-save]').click()
        await page.locator('[data-test=setting-n_ctx-pending]').waitFor()
        assert.match(await page.locator('[data-test=engine-pending-restart]').innerText(), /Apply now to reload the engine.*Context size/)
        const saved = await settings(ctx.agent)
        assert.equal(saved.n_ctx, 1024)
        assert.deepEqual(saved.pending_restart, ['n_ctx'])
        const status = await (await fetch(`${ctx.agent.url}/api/status`)).json()
        assert.equal(status.context_size, original.n_ctx) // still running with the old one
        await assertAccessible(page, 'engine page 1280')
        await screenshot(page, 'admin-engine-1280')
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
        const back = await fetch(`${ctx.agent.url}/api/engine/settings`, {
          method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(original),
        })
        assert.equal(back.status, 200) // the other tests keep the agent as it was
      }
    })

    it('Apply now reloads the engine with the saved settings, without restarting the agent', TEST_TIMEOUT, async () => {
      const original = await settings(ctx.agent)
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url, viewport: DESKTOP })
      try {
        assert.equal((await putSettings(ctx.agent, { parallel: 2 })).status, 200)
        await page.goto('/status')
        await page.locator('[data-test=setting-parallel-pending]').waitFor()
        await page.locator('[data-test=engine-apply-now]').click()
        await page.waitForFunction(
          () => /^Applied/.test(document.querySelector('[data-test=engine-reload-state]')?.textContent ?? ''),
          null,
          { timeout: 120_000 },
        )
        const status = await (await fetch(`${ctx.agent.url}/api/status`)).json()
        assert.equal(status.engine_reload.state, 'done')
        assert.equal(status.engine.parallel, 2) // the same process, its engine reloaded
        assert.equal(await page.locator('[data-test=setting-parallel-pending]').count(), 0)
        assert.equal(await page.locator('[data-test=engine-apply-now]').count(), 0)
        await assertAccessible(page, 'engine page applied 1280')
        await screenshot(page, 'admin-engine-applied-1280')
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
        assert.equal((await putSettings(ctx.agent, original)).status, 200)
        await reloadEngine(ctx.agent) // the other tests keep the agent as it was
      }
    })

    it('the engine page fits a 360 px phone and passes axe in Russian', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url, viewport: PHONE })
      try {
        await page.goto('/status')
        await page.locator('[data-test=language]').selectOption('ru')
        await page.locator('[data-test=setting-n_ctx]').waitFor()
        assert.equal(await page.locator('[data-test=setting-n_ctx-when]').innerText(), 'по кнопке «Применить»')
        await page.locator('[data-test=model]').first().waitFor()
        assert.ok(await fitsViewport(page), 'the engine page fits 360 px')
        await assertAccessible(page, 'engine page 360 ru')
        await screenshot(page, 'admin-engine-360-ru')
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
      }
    })
  })
}
