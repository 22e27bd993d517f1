// Refusals in Russian: every error path a person meets shows a Russian sentence that says what to do,
// never the server's English or a library's text ("Input should be less than or equal to 2",
// "Cannot connect to host ...", "wrong email or password"), on the admin (agent) and the public chat
// (gateway); each page passes axe as it shows the error.
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import { describe, it } from 'node:test'
import { assertAccessible } from './support/a11y.mjs'
import { newPage, screenshot } from './support/browser.mjs'

const TEST_TIMEOUT = { timeout: 150_000 }
const ERRORS = '[role=alert], .error-text, [data-test$=-error], [data-test=registration-closed]'

/** The English in `text`: three Latin words in a row, or an English function word. A Russian
 * sentence may name txt, @BotFather or 123456789:ABC-DEF, never a sentence of English. */
export function englishIn(text) {
  const run = text.match(/\b[A-Za-z']{2,}(?:\s+[A-Za-z']{2,}){2,}\b/)
  const word = text.match(/\b(?:the|is|are|not|should|than|cannot|could|wrong|needs|closed|or|and|to|of|please|error)\b/i)
  return run?.[0] ?? word?.[0] ?? null
}

/** A page in Russian from its first load (the language is kept in localStorage). */
async function russianPage(browser, baseURL) {
  const opened = await newPage(browser, { baseURL })
  await opened.context.addInitScript(() => localStorage.setItem('aiclone.locale', 'ru'))
  return opened
}

/** Every visible error text on the page (or in `scope`, a part of it): each is Russian and holds
 * no English sentence. */
async function assertRussianErrors(page, label, scope = page) {
  const texts = (await scope.locator(ERRORS).allInnerTexts()).map((t) => t.trim()).filter(Boolean)
  assert.ok(texts.length > 0, `${label}: an error is shown`)
  for (const text of texts) {
    assert.match(text, /[а-яё]/i, `${label}: "${text}" is not Russian`)
    assert.equal(englishIn(text), null, `${label}: "${text}" has English in it`)
  }
  return texts
}

async function ownerHeaders(ctx) {
  const login = await fetch(`${ctx.gateway.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(ctx.owner),
  })
  return { Authorization: `Bearer ${(await login.json()).access_token}`, 'Content-Type': 'application/json' }
}

async function setRegistration(ctx, mode) {
  const response = await fetch(`${ctx.gateway.url}/api/admin/registration`, { method: 'PUT', headers: await ownerHeaders(ctx), body: JSON.stringify({ mode }) })
  assert.equal(response.status, 200, await response.text())
}

export function errorTests(ctx) {
  describe('refusals in Russian', () => {
    it('the sentence check itself tells English from Russian', () => {
      assert.equal(englishIn('Input should be less than or equal to 2'), 'Input should be less than or equal to')
      assert.ok(englishIn('HTTP Client says - ClientConnectorDNSError: Cannot connect to host api.telegram.org:443'))
      assert.ok(englishIn('registration is closed'))
      assert.equal(englishIn('Файл такого типа не читается. Загрузите txt, md, pdf, docx или html.'), null)
      assert.equal(englishIn('Telegram не принимает этот токен бота. Скопируйте его заново у @BotFather и сохраните.'), null)
    })

    it('the admin: an engine setting out of range, an unreachable Bot API and a binary upload', TEST_TIMEOUT, async () => {
      const { page, context } = await russianPage(ctx.browser, ctx.agent.url)
      try {
        await page.goto('/status')
        await page.locator('[data-test=setting-temperature]').fill('9')
        await page.locator('[data-test=engine-settings-save]').click()
        const field = page.locator('[data-test=setting-temperature-error]')
        await field.waitFor()
        assert.equal((await field.innerText()).trim(), 'Не больше 2.')
        await assertRussianErrors(page, 'engine page')
        await assertAccessible(page, 'engine page refusal ru')
        await screenshot(page, 'errors-engine-ru')

        await page.goto('/telegram')
        await page.locator('[data-test=telegram-token]').fill('123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw')
        await page.locator('[data-test=telegram-enabled]').check()
        await page.locator('form button[type=submit]').click()
        const alert = page.locator('[role=alert]', { hasText: 'Telegram' })
        await alert.waitFor({ timeout: 60_000 })
        assert.match(await alert.innerText(), /Telegram недоступен с этого компьютера/)
        await assertRussianErrors(page, 'telegram page')
        await assertAccessible(page, 'telegram page refusal ru')
        await screenshot(page, 'errors-telegram-ru')

        await page.goto('/documents')
        await page.locator('[data-test=upload-input]').setInputFiles({ name: 'photo.txt', mimeType: 'text/plain', buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 0, 0, 0, 0xff, 0xfe, 0, 1]) })
        const refused = page.locator('[data-test=upload-error]')
        await refused.waitFor()
        assert.match(await refused.innerText(), /Файл такого типа не читается/)
        await assertRussianErrors(page, 'documents page')
        await assertAccessible(page, 'documents page refusal ru')
        await screenshot(page, 'errors-upload-ru')
        assert.deepEqual(page.errors, [])
      } finally {
        await context.close()
      }
    })

    it('the admin: Apply of the LAN listener on a port another program holds', TEST_TIMEOUT, async () => {
      const lan = `${ctx.agent.url}/api/listeners/lan`
      const original = (await (await fetch(lan)).json()).settings
      const holder = createServer() // the other program: a real socket listening on the port
      const busy = await new Promise((resolve) => holder.listen(0, '127.0.0.1', () => resolve(holder.address().port)))
      const { page, context } = await russianPage(ctx.browser, ctx.agent.url)
      try {
        await page.goto('/gateway')
        const form = page.locator('[data-test=listener-lan]')
        await form.waitFor()
        await form.locator('[data-test=listener-lan-enabled]').check()
        await form.locator('[data-test=listener-lan-host]').fill('127.0.0.1')
        await form.locator('[data-test=listener-lan-port]').fill(String(busy))
        await form.locator('[data-test=listener-lan-save]').click()
        await form.locator('[data-test=listener-lan-pending]').waitFor()
        await form.locator('[data-test=listener-lan-apply]').click()
        const error = form.locator('[data-test=listener-lan-error]')
        await error.waitFor()
        const said = await error.innerText()
        assert.match(said, new RegExp(`Порт ${busy} уже занят другой программой`))
        assert.doesNotMatch(said, /Errno|Address already in use/)
        // the API says the same as a code (the OS's words stay in `error`, for the log)
        const answer = await (await fetch(lan)).json()
        assert.equal(answer.error_code, 'listener_address_in_use')
        assert.deepEqual(answer.error_params, { host: '127.0.0.1', port: busy })
        await assertRussianErrors(page, 'listener apply', form)
        await assertAccessible(page, 'listener apply refusal ru')
        await screenshot(page, 'errors-listener-ru')
        assert.deepEqual(page.errors, [])
      } finally {
        holder.close()
        await context.close()
        // back where the other tests expect it
        await fetch(lan, { method: 'PUT', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(original) })
        await fetch(`${lan}/apply`, { method: 'POST' })
      }
    })

    it('the public chat: a wrong password, sign-up without an invite and closed sign-up', TEST_TIMEOUT, async () => {
      const { page, context } = await russianPage(ctx.browser, ctx.front.url)
      const error = page.locator('[data-test=auth-error]')
      async function refusedWith(expected, label) {
        await page.locator('[data-test=auth-submit]').click()
        await error.waitFor()
        await page.waitForFunction((text) => document.querySelector('[data-test=auth-error]')?.textContent?.includes(text), expected)
        await assertRussianErrors(page, label)
        await assertAccessible(page, `${label} ru`)
      }
      try {
        await page.goto('/login')
        await page.locator('[data-test=email]').fill(ctx.owner.email)
        await page.locator('[data-test=password]').fill('not-the-password-42')
        await refusedWith('Неверная почта или пароль', 'sign-in')
        await screenshot(page, 'errors-login-ru')

        await setRegistration(ctx, 'invite')
        await page.goto('/register')
        await page.locator('[data-test=email]').fill(`no-invite-${Date.now()}@example.com`)
        await page.locator('[data-test=password]').fill('correct-horse-42')
        await refusedWith('нужна ссылка-приглашение', 'sign-up without an invite')

        // closed: the form is disabled before anyone types, with the sentence in Russian
        await setRegistration(ctx, 'closed')
        await page.reload()
        await page.locator('[data-test=registration-closed]', { hasText: 'Регистрация закрыта' }).waitFor()
        assert.ok(await page.locator('[data-test=auth-submit]').isDisabled(), 'closed: nothing to submit')
        await assertRussianErrors(page, 'closed sign-up')
        await assertAccessible(page, 'closed sign-up ru')
        await screenshot(page, 'errors-register-closed-ru')
        assert.deepEqual(page.errors, [])
      } finally {
        await setRegistration(ctx, 'open') // the other tests sign up freely
        await context.close()
      }
    })
  })
}
