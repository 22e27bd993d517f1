import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import ListenerForm from './ListenerForm.vue'
import { useListenersStore } from '../stores/listeners'
import { useI18n } from '@/shared/composables/useI18n'
import type { ListenerStatus } from '@/api/agent'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

const SETTINGS = { enabled: true, host: '127.0.0.1', port: 3200 }
const BUSY: ListenerStatus = {
  settings: SETTINGS,
  state: 'failed',
  address: null,
  error: 'cannot listen on 127.0.0.1:3200: [Errno 98] Address already in use',
  pending: false,
  error_code: 'listener_address_in_use',
  error_params: { host: '127.0.0.1', port: 3200 },
}

describe('ListenerForm', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('says why Apply could not listen from the code, in the page language, never the OS words', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => json(200, BUSY)))
    for (const [locale, words] of [['en', 'Port 3200 is already used by another program'], ['ru', 'Порт 3200 уже занят другой программой']] as const) {
      useI18n().setLocale(locale)
      const store = useListenersStore()
      store.listeners.lan = { ...BUSY, state: 'stopped', error: null, error_code: null, error_params: null, pending: true }
      const wrapper = mount(ListenerForm, { props: { name: 'lan' } })
      expect(wrapper.find('[data-test=listener-lan-error]').exists()).toBe(false)
      await wrapper.find('[data-test=listener-lan-apply]').trigger('click')
      await flushPromises()
      const said = wrapper.find('[data-test=listener-lan-error]').text()
      expect(said).toContain(words)
      expect(said).not.toMatch(/Errno|Address already in use/)
      wrapper.unmount()
    }
  })

  it('falls back to a sentence of its own for a failure without a code (an older agent)', () => {
    useI18n().setLocale('ru')
    useListenersStore().listeners.lan = { ...BUSY, error_code: undefined, error_params: undefined }
    const said = mount(ListenerForm, { props: { name: 'lan' } }).find('[data-test=listener-lan-error]').text()
    expect(said).toContain('Не удалось слушать 127.0.0.1:3200')
    expect(said).not.toContain('Errno')
  })
})
