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
    const settings = { enabled: false, bots: [], delivery: 'polling', status: 'stopped', last_error: 'Unauthorized' }
    const fetchMock = vi.fn()
      .mockResolvedValueOnce(json(200, settings))
      .mockResolvedValueOnce(json(200, { ...settings, enabled: true, status: 'running', bots: [{ bot_id: 1, token: '123:***', linked_clone_id: 'c' }] }))
    vi.stubGlobal('fetch', fetchMock)
    const wrapper = mount(TelegramView)
    await flushPromises()
    expect(wrapper.text()).toContain('Unauthorized')
    await wrapper.find('[data-test=telegram-enabled]').setValue(true)
    await wrapper.find('[data-test=telegram-token]').setValue(' 123:abc ')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(JSON.parse(fetchMock.mock.calls[1][1].body)).toEqual({ enabled: true, bots: [{ token: '123:abc' }] })
    expect(wrapper.find('[data-test=telegram-status]').text()).toBe('running')
    expect(wrapper.text()).toContain('123:***')

    // Switching off without a new token keeps the bot: its masked token goes back as is.
    fetchMock.mockResolvedValueOnce(json(200, { ...settings, bots: [{ bot_id: 1, token: '123:***', linked_clone_id: 'c' }] }))
    await wrapper.find('[data-test=telegram-enabled]').setValue(false)
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(JSON.parse(fetchMock.mock.calls[2][1].body)).toEqual({ enabled: false, bots: [{ token: '123:***' }] })
  })
})
