import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { createMemoryHistory, createRouter } from 'vue-router'
import HomeLanView from './HomeLanView.vue'
import { useI18n } from '@/shared/composables/useI18n'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

describe('Use at home (LAN tokens)', () => {
  let fetchMock: ReturnType<typeof vi.fn>
  let tokens: { id: string; name: string; created_at: number; expires_at: number }[]
  let lanUrl: string | null

  beforeEach(() => {
    useI18n().setLocale('en')
    setActivePinia(createPinia())
    tokens = []
    lanUrl = null
    // the gateway's /api/lan-tokens as the test keeps it; the user's own account otherwise
    fetchMock = vi.fn(async (url: string, init: RequestInit = {}) => {
      const method = init.method ?? 'GET'
      if (url === '/api/lan-tokens' && method === 'POST') {
        const row = { id: `t${tokens.length + 1}`, name: JSON.parse(String(init.body)).name, created_at: 1_700_000_000, expires_at: 1_702_592_000 }
        tokens.push(row)
        return json(201, { ...row, token: `eyJ.lan-${row.id}.sig` })
      }
      if (url === '/api/lan-tokens') return json(200, tokens)
      if (url === '/api/lan-tokens/address') return json(200, { url: lanUrl })
      if (url.startsWith('/api/lan-tokens/') && method === 'DELETE') {
        tokens = tokens.filter((row) => row.id !== url.split('/').pop())
        return new Response(null, { status: 204 })
      }
      if (url === '/api/auth/refresh') return json(200, { access_token: 'access-1', refresh_token: 'refresh-2', token_type: 'bearer', expires_in: 900 })
      if (url === '/api/users/me') return json(200, { id: 'u1', email: 'mum@example.test', role: 'user' })
      return json(404, { error: { message: 'no route' } })
    })
    vi.stubGlobal('fetch', fetchMock)
  })

  it('creates a token shown once with a copy button, lists it and revokes it', async () => {
    localStorage.setItem('aiclone.refresh_token', 'refresh-1') // signed in earlier
    const routes = ['home', 'chat', 'keys', 'memories', 'owner'].map((name) => ({ path: `/${name}`, name, component: HomeLanView }))
    const router = createRouter({ history: createMemoryHistory(), routes })
    await router.push('/home')
    const wrapper = mount(HomeLanView, { global: { plugins: [router] } })
    await flushPromises()
    expect(wrapper.find('[data-test=lan-empty]').exists()).toBe(true)
    expect(wrapper.text()).toContain('LAN token')

    await wrapper.find('[data-test=lan-name]').setValue('kitchen tablet')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    expect(wrapper.find('[data-test=secret-value]').text()).toBe('eyJ.lan-t1.sig')
    expect(wrapper.find('[data-test=secret-copy]').exists()).toBe(true)
    const rows = wrapper.findAll('[data-test=lan-row]')
    expect(rows).toHaveLength(1)
    expect(rows[0].text()).toContain('kitchen tablet')
    const sent = fetchMock.mock.calls.find(([url, init]) => url === '/api/lan-tokens' && init?.method === 'POST')
    expect(new Headers(sent?.[1].headers).get('Authorization')).toBe('Bearer access-1')

    await wrapper.find('[data-test=secret-done]').trigger('click')
    expect(wrapper.find('[data-test=secret]').exists()).toBe(false) // never shown again
    await wrapper.find('[data-test=lan-revoke]').trigger('click')
    await flushPromises()
    expect(wrapper.findAll('[data-test=lan-row]')).toHaveLength(0)
    expect(tokens).toEqual([])
  })

  it('shows the home address the agent reported and, for a new token, a QR code that opens the home chat signed in', async () => {
    lanUrl = 'http://192.168.1.20:3080'
    localStorage.setItem('aiclone.refresh_token', 'refresh-1')
    const routes = ['home', 'chat', 'keys', 'memories', 'owner'].map((name) => ({ path: `/${name}`, name, component: HomeLanView }))
    const router = createRouter({ history: createMemoryHistory(), routes })
    await router.push('/home')
    const wrapper = mount(HomeLanView, { global: { plugins: [router] } })
    await flushPromises()
    expect(wrapper.find('[data-test=lan-address] a').attributes('href')).toBe('http://192.168.1.20:3080')
    expect(wrapper.find('[data-test=lan-qr]').exists()).toBe(false) // no token to put in one yet
    await wrapper.find('[data-test=lan-name]').setValue('phone')
    await wrapper.find('form').trigger('submit')
    await flushPromises()
    const qr = wrapper.find('[data-test=lan-qr] [data-test=qr-code]')
    expect(qr.attributes('data-value')).toBe('http://192.168.1.20:3080/#token=eyJ.lan-t1.sig')
    expect(qr.find('path').attributes('d')).toMatch(/^M\d+ \d+h1v1h-1z/)
    await wrapper.find('[data-test=secret-done]').trigger('click')
    expect(wrapper.find('[data-test=lan-qr]').exists()).toBe(false) // shown once, like the token
  })

  it('says the home address is unknown when no agent reported one', async () => {
    localStorage.setItem('aiclone.refresh_token', 'refresh-1')
    const routes = ['home', 'chat', 'keys', 'memories', 'owner'].map((name) => ({ path: `/${name}`, name, component: HomeLanView }))
    const router = createRouter({ history: createMemoryHistory(), routes })
    await router.push('/home')
    const wrapper = mount(HomeLanView, { global: { plugins: [router] } })
    await flushPromises()
    expect(wrapper.find('[data-test=lan-address-unknown]').exists()).toBe(true)
  })

})
