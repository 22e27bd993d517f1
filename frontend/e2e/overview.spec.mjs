// The admin's Overview page (/overview): the agent, its link and the gateway as small charts.
// A user chatting on the public chat shows up as decode speed on the agent's charts and as a
// user online on the gateway's; at 1280 px and on a 360 px phone (in Russian), with axe checks.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { assertAccessible } from './support/a11y.mjs'
import { DESKTOP, PHONE, fitsViewport, newPage, screenshot } from './support/browser.mjs'

const TEST_TIMEOUT = { timeout: 180_000 }

async function chatAsNewUser(browser, front) {
  const { page, context } = await newPage(browser, { baseURL: front.url })
  await page.goto('/')
  await page.waitForURL('**/login')
  await page.locator('[data-test=to-register]').click()
  await page.locator('[data-test=email]').fill(`overview-${Date.now()}@example.com`)
  await page.locator('[data-test=password]').fill('correct-horse-42')
  await page.locator('[data-test=auth-submit]').click()
  await page.locator('[data-test=clone-status]', { hasText: 'online' }).waitFor({ timeout: 60_000 })
  await page.locator('[data-test=composer-input]').fill('Say hello in five words.')
  await page.keyboard.press('Enter')
  await page.locator('.message-assistant[data-status=done]').waitFor({ timeout: 90_000 })
  return { page, context }
}

/** The highest value a chart draws (null: nothing drawn yet); uPlot draws on a canvas, the
 * chart says its peak in data-peak. */
async function peak(page, chart) {
  const value = await page.locator(`[data-test=chart-${chart}]`).getAttribute('data-peak')
  return value ? Number(value) : null
}

async function waitForLineAboveZero(page, chart) {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if ((await peak(page, chart)) > 0) return
    await page.waitForTimeout(500)
  }
  assert.fail(`the ${chart} chart never rose above zero: ${await peak(page, chart)}`)
}

/** Points at the middle of a chart's plot and returns its tooltip's text. */
async function tooltipAt(page, chart) {
  const plot = page.locator(`[data-test=chart-${chart}] .u-over`)
  const box = await plot.boundingBox()
  await plot.hover({ position: { x: box.width - 4, y: box.height / 2 } }) // scrolled into view first
  const tip = page.locator(`[data-test=chart-${chart}] [data-test=chart-tip]`)
  await tip.waitFor()
  return tip.innerText()
}

export function overviewTests(ctx) {
  describe('admin overview page (agent, link, gateway)', () => {
    it('a public chat user shows on the agent and gateway charts; the link is relay', TEST_TIMEOUT, async () => {
      const user = await chatAsNewUser(ctx.browser, ctx.front)
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url, viewport: DESKTOP })
      try {
        await page.goto('/overview')
        assert.equal(await page.locator('[data-test=overview-mode]').innerText(), 'relay')
        await page.locator('[data-test=chart-users] strong', { hasText: /^1$/ }).waitFor({ timeout: 20_000 })
        await waitForLineAboveZero(page, 'tps') // the answer's decode speed
        await waitForLineAboveZero(page, 'users')
        assert.match(await page.locator('[data-test=chart-ttft] strong').innerText(), /\d+(\.\d+)? (ms|sec)$/)
        // uPlot's charts: a time axis, units on the value axis, a tooltip saying when and how much
        assert.match(await tooltipAt(page, 'ttft'), /^\d\d:\d\d:\d\d [AP]M · (—|\d+(\.\d+)? (ms|sec))$/)
        assert.match(await tooltipAt(page, 'users'), /^\d\d:\d\d:\d\d [AP]M · \d+$/)
        assert.equal(await page.locator('[data-test=chart-queue] strong').innerText(), '0')
        assert.match(await page.locator('[data-test=overview-gateway-facts]').innerText(), /Gateway processes: 1/)
        assert.equal(await page.locator('[data-test=overview-gateway-missing]').count(), 0)
        await assertAccessible(page, 'overview 1280')
        await screenshot(page, 'admin-overview-1280')

        await user.context.close() // the user leaves: no one online once the gateway reports again
        await page.locator('[data-test=chart-users] strong', { hasText: /^0$/ }).waitFor({ timeout: 20_000 })
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
        await user.context.close()
      }
    })

    it('the overview fits a 360 px phone and passes axe in Russian', TEST_TIMEOUT, async () => {
      const { page, context } = await newPage(ctx.browser, { baseURL: ctx.agent.url, viewport: PHONE })
      try {
        await page.goto('/overview')
        await page.locator('[data-test=language]').selectOption('ru')
        await page.locator('[data-test=overview-mode]', { hasText: 'ретранслятор' }).waitFor()
        await page.locator('[data-test=chart-tps] figcaption', { hasText: 'Скорость генерации' }).waitFor()
        assert.match(await page.locator('[data-test=chart-tps] strong').innerText(), /(ток\/с|простаивает)$/) // never "0 ток/с"
        assert.doesNotMatch(await page.locator('[data-test=chart-tps] strong').innerText(), /^0 /)
        assert.ok(await fitsViewport(page), 'the overview fits 360 px')
        await assertAccessible(page, 'overview 360 ru')
        await screenshot(page, 'admin-overview-360-ru')
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
      }
    })
  })
}
