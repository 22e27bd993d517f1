import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { useI18n } from '@/shared/composables/useI18n'
import GatewayView from './GatewayView.vue'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
const unlinked = { url: '', agent_token: '', connected: false, rtt_ms: null, last_error: null }
const PAIRING = 'aiclone://pair?gateway=https%3A%2F%2Fclone.example&token=agt_secret123456'

/** The agent's API as the page sees it: GET /api/gateway and /api/status, PUT /api/gateway. */
function agentApi(put: (body: unknown) => Response) {
  return vi.fn(async (url: string, init?: RequestInit) => {
    if (init?.method === 'PUT') return put(JSON.parse(String(init.body)))
    return url.endsWith('/api/status') ? json(200, { network_mode: 'offline' }) : json(200, unlinked)
  })
}

describe('GatewayView pairing', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    useI18n().setLocale('en')
  })

  it('links with the pairing string in one field: the agent gets it whole and the field empties', async () => {
    const fetchMock = agentApi(() => json(200, { ...unlinked, url: 'https://clone.example', agent_token: 'agt_…3456' }))
    vi.stubGlobal('fetch', fetchMock)
    const wrapper = mount(GatewayView)
    await flushPromises()
    await wrapper.find('[data-test=gateway-pairing]').setValue(`  ${PAIRING}\n`)
    await wrapper.find('[data-test=gateway-pairing-form]').trigger('submit')
    await flushPromises()
    const put = fetchMock.mock.calls.find(([, init]) => init?.method === 'PUT')!
    expect(JSON.parse(String(put[1]!.body))).toEqual({ pairing: PAIRING })
    expect((wrapper.find('[data-test=gateway-pairing]').element as HTMLInputElement).value).toBe('')
    expect(wrapper.find('[data-test=gateway-saved]').exists()).toBe(true)
    expect((wrapper.find('[data-test=gateway-url]').element as HTMLInputElement).value).toBe('https://clone.example')
  })

  it('keeps the string and shows why when the agent refuses it', async () => {
    vi.stubGlobal('fetch', agentApi(() => json(400, { error: { message: 'a pairing string starts with aiclone://pair?', code: 'invalid_request', param: 'pairing', field_codes: { pairing: { code: 'not_a_pairing_string', params: {} } } } })))
    const wrapper = mount(GatewayView)
    await flushPromises()
    await wrapper.find('[data-test=gateway-pairing]').setValue('agt_only_a_token')
    await wrapper.find('[data-test=gateway-pairing-form]').trigger('submit')
    await flushPromises()
    expect(wrapper.find('[role=alert]').text()).toContain('aiclone://pair?')
    expect((wrapper.find('[data-test=gateway-pairing]').element as HTMLInputElement).value).toBe('agt_only_a_token')
  })
})

describe('GatewayView link errors', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
  })

  it('says why the link failed from its code in the page language, never the library words', async () => {
    const failed = { ...unlinked, url: 'https://clone.example', last_error: 'ConnectionRefusedError: [Errno 111] Connect call failed', last_error_code: 'gateway_unreachable' }
    vi.stubGlobal('fetch', vi.fn(async (url: string) => (url.endsWith('/api/status') ? json(200, { network_mode: 'offline' }) : json(200, failed))))
    for (const [locale, words] of [['en', 'cannot be reached'], ['ru', 'Шлюз недоступен']] as const) {
      useI18n().setLocale(locale)
      const wrapper = mount(GatewayView)
      await flushPromises()
      const said = wrapper.find('[data-test=gateway-last-error]').text()
      expect(said).toContain(words)
      expect(said).not.toContain('ConnectionRefusedError')
      wrapper.unmount()
    }
  })
})
