import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import MemoriesView from './MemoriesView.vue'
import { useI18n } from '@/shared/composables/useI18n'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
const memory = (id: string, text: string, pinned = false) =>
  ({ id, text, at: '2026-11-30T18:05:00Z', conversation_id: 'c1', channel: 'web', pinned })

/** The gateway as the page sees it: a session, then the memory routes (each call recorded). */
function gateway(answer: (method: string, path: string, body: unknown) => Response) {
  const calls: [string, string, unknown][] = []
  const fetchMock = vi.fn(async (url: string, init: RequestInit = {}) => {
    const method = init.method ?? 'GET'
    const body = typeof init.body === 'string' ? JSON.parse(init.body) : undefined
    if (url === '/api/auth/refresh') return json(200, { access_token: 'a', refresh_token: 'r2', token_type: 'bearer', expires_in: 900 })
    if (url === '/api/users/me') return json(200, { id: 'u1', email: 'me@example.test', role: 'user' })
    calls.push([method, url, body])
    return answer(method, url, body)
  })
  vi.stubGlobal('fetch', fetchMock)
  return calls
}

const mountView = () => mount(MemoriesView, { global: { stubs: { RouterLink: { template: '<a><slot /></a>' } } } })

describe('MemoriesView (What the clone remembers about me)', () => {
  beforeEach(() => {
    localStorage.clear()
    localStorage.setItem('aiclone.refresh_token', 'r1')
    setActivePinia(createPinia())
    useI18n().setLocale('en')
  })

  it('lists, searches, deletes one, deletes all after asking, and switches memory off', async () => {
    let mine = [memory('m_1', 'Q: my dog is Rex\nA: Nice!', true), memory('m_2', 'Q: I live in Riga\nA: Lovely.')]
    const calls = gateway((method, path, body) => {
      if (method === 'GET' && path.startsWith('/api/me/memories')) {
        const q = new URL(path, 'http://x').searchParams.get('q')
        return json(200, { memories: mine.filter((m) => !q || m.text.includes(q)), enabled: true })
      }
      if (method === 'DELETE' && path === '/api/me/memories/m_1') {
        mine = mine.filter((m) => m.id !== 'm_1')
        return new Response(null, { status: 204 })
      }
      if (method === 'DELETE' && path === '/api/me/memories') return json(200, { deleted: mine.length })
      if (method === 'PUT' && path === '/api/me/memory-settings') return json(200, body)
      return json(404, { error: { message: 'no', code: 'not_found' } })
    })
    const wrapper = mountView()
    await flushPromises()
    expect(wrapper.find('h1').text()).toBe('What the clone remembers about me')
    expect(wrapper.findAll('[data-test=memory-text]').map((m) => m.text())).toEqual(['Q: my dog is Rex\nA: Nice!', 'Q: I live in Riga\nA: Lovely.'])
    expect(wrapper.find('[data-test=memory-item]').text()).toContain('remembered from')
    expect(wrapper.find('[data-test=memory-pinned]').exists()).toBe(true)

    await wrapper.find('[data-test=memory-search]').setValue('Riga')
    await wrapper.find('form[role=search]').trigger('submit')
    await flushPromises()
    expect(calls.at(-1)).toEqual(['GET', '/api/me/memories?q=Riga', undefined])
    expect(wrapper.findAll('[data-test=memory-item]')).toHaveLength(1)

    await wrapper.find('[data-test=memory-search]').setValue('')
    await wrapper.find('form[role=search]').trigger('submit')
    await flushPromises()
    await wrapper.find('[data-test=memory-delete]').trigger('click')
    await flushPromises()
    expect(calls.at(-1)).toEqual(['DELETE', '/api/me/memories/m_1', undefined])
    expect(wrapper.findAll('[data-test=memory-text]').map((m) => m.text())).toEqual(['Q: I live in Riga\nA: Lovely.'])

    await wrapper.find('[data-test=memory-delete-all]').trigger('click')
    expect(calls.at(-1)?.[0]).toBe('DELETE') // asked first: nothing erased by the first click
    expect(calls.filter(([method, path]) => method === 'DELETE' && path === '/api/me/memories')).toHaveLength(0)
    await wrapper.find('[data-test=memory-delete-all-confirm]').trigger('click')
    await flushPromises()
    expect(wrapper.find('[data-test=memory-erased]').text()).toBe('Erased: 1')
    expect(wrapper.find('[data-test=memory-empty]').exists()).toBe(true)

    await wrapper.find('[data-test=memory-enabled]').setValue(false)
    await flushPromises()
    expect(calls.at(-1)).toEqual(['PUT', '/api/me/memory-settings', { enabled: false }])
    expect(wrapper.find('[data-test=memory-off]').exists()).toBe(true)
  })

  it('says the clone is offline when the gateway answers agent_offline', async () => {
    gateway(() => json(503, { error: { message: 'offline', type: 'service_unavailable', param: null, code: 'agent_offline' } }))
    const wrapper = mountView()
    await flushPromises()
    expect(wrapper.find('[data-test=memory-offline]').text()).toContain('offline')
    expect(wrapper.find('[data-test=memory-error]').exists()).toBe(false)
    expect((wrapper.find('[data-test=memory-enabled]').element as HTMLInputElement).disabled).toBe(true)
  })
})
