import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import TelegramView from './TelegramView.vue'
import { useI18n } from '@/shared/composables/useI18n'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

describe('TelegramView', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    useI18n().setLocale('en')
  })

  it('says Telegram is not available when the agent lacks the endpoint', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(json(404, { error: { message: 'Not Found' } })))
    const wrapper = mount(TelegramView)
    await flushPromises()
    expect(wrapper.find('[data-test=telegram-unavailable]').text()).toContain('not available')
  })

  it('shows the settings and saves a new token', async () => {
    const settings = { enabled: false, bots: [], delivery: 'polling', status: 'stopped', last_error: 'Unauthorized', last_error_code: 'telegram_token_rejected' }
    const fetchMock = vi.fn()
      .mockResolvedValueOnce(json(200, settings))
      .mockResolvedValueOnce(json(200, { ...settings, enabled: true, status: 'running', bots: [{ bot_id: 1, token: '123:***', linked_clone_id: 'c' }] }))
    vi.stubGlobal('fetch', fetchMock)
    const wrapper = mount(TelegramView)
    await flushPromises()
    expect(wrapper.find('[data-test=telegram-error]').text()).toBe(
      'Telegram does not accept this bot token. Copy it again from @BotFather and save.',
    )
    expect(wrapper.text()).not.toContain('Unauthorized') // the library's words are in the agent's log only
    await wrapper.find('[data-test=telegram-enabled]').setValue(true)
    await wrapper.find('[data-test=telegram-token]').setValue(' 123:abc ')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(JSON.parse(fetchMock.mock.calls[1][1].body)).toEqual({ enabled: true, bots: [{ token: '123:abc' }] })
    expect(wrapper.find('[data-test=telegram-status]').text()).toBe('running')
    useI18n().setLocale('ru')
    await flushPromises()
    expect(wrapper.find('[data-test=telegram-status]').text()).toBe('работает')
    useI18n().setLocale('en')
    expect(wrapper.text()).toContain('123:***')

    // Switching off without a new token keeps the bot: its masked token goes back as is.
    fetchMock.mockResolvedValueOnce(json(200, { ...settings, bots: [{ bot_id: 1, token: '123:***', linked_clone_id: 'c' }] }))
    await wrapper.find('[data-test=telegram-enabled]').setValue(false)
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(JSON.parse(fetchMock.mock.calls[2][1].body)).toEqual({ enabled: false, bots: [{ token: '123:***' }] })
  })

  it('edits who may talk to the bot and shows "enabled" as it really is after a refused save', async () => {
    const settings = { enabled: false, bots: [], delivery: 'polling', status: 'disabled', last_error: null, allowed_user_ids: [42] }
    const fetchMock = vi.fn()
      .mockResolvedValueOnce(json(200, settings))
      .mockResolvedValueOnce(json(400, { error: { message: 'Telegram rejected this bot token (Unauthorized)', code: 'telegram_token_rejected' } }))
    vi.stubGlobal('fetch', fetchMock)
    const wrapper = mount(TelegramView)
    await flushPromises()
    const allowed = wrapper.find('[data-test=telegram-allowed]')
    expect((allowed.element as HTMLInputElement).value).toBe('42')
    await allowed.setValue('42, x')
    await wrapper.find('form').trigger('submit')
    expect(fetchMock).toHaveBeenCalledTimes(1) // not a number: nothing is sent
    await allowed.setValue('42, 7')
    await wrapper.find('[data-test=telegram-enabled]').setValue(true)
    await wrapper.find('[data-test=telegram-token]').setValue('bad')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(JSON.parse(fetchMock.mock.calls[1][1].body)).toEqual({ enabled: true, bots: [{ token: 'bad' }], allowed_user_ids: [42, 7] })
    expect((wrapper.find('[data-test=telegram-enabled]').element as HTMLInputElement).checked).toBe(false)
    expect(wrapper.find('[role=alert]').text()).toBe('Telegram does not accept this bot token. Copy it again from @BotFather and save.')
  })
})
