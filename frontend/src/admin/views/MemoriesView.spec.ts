import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import MemoriesView from './MemoriesView.vue'
import { useI18n } from '@/shared/composables/useI18n'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
const record = (id: string, person: string, text: string, pinned = false) =>
  ({ id, person, text, at: '2026-11-30T18:05:00Z', conversation_id: null, channel: 'web', pinned })

describe('admin MemoriesView', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    useI18n().setLocale('en')
  })

  it('shows persons with counts, one person\'s memories, pins, deletes and exports', async () => {
    const all = [record('m_1', 'user:a', 'Q: my dog is Rex'), record('m_2', 'telegram:1:2', 'Q: I like tea')]
    const calls: [string, string, unknown][] = []
    vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
      const method = init.method ?? 'GET'
      calls.push([method, url, typeof init.body === 'string' ? JSON.parse(init.body) : undefined])
      if (method === 'GET') {
        const person = new URL(url, 'http://x').searchParams.get('person')
        return json(200, {
          memories: all.filter((m) => !person || m.person === person),
          persons: [{ person: 'user:a', count: 1 }, { person: 'telegram:1:2', count: 1 }],
        })
      }
      if (method === 'PATCH') return json(200, { ...all[0], pinned: true })
      return new Response(null, { status: 204 })
    }))
    const wrapper = mount(MemoriesView)
    await flushPromises()
    expect(wrapper.findAll('[data-test=memory-person]').map((row) => row.text())).toEqual([
      expect.stringContaining('user:a'), expect.stringContaining('telegram:1:2'),
    ])
    expect(wrapper.findAll('[data-test=admin-memory]')).toHaveLength(2)
    expect(wrapper.find('[data-test=memory-export]').attributes('href')).toBe('/api/memories/export?person=user%3Aa')

    await wrapper.find('[data-test=memory-person-show]').trigger('click')
    await flushPromises()
    expect(calls.at(-1)).toEqual(['GET', '/api/memories?person=user%3Aa', undefined])
    expect(wrapper.findAll('[data-test=admin-memory]')).toHaveLength(1)

    await wrapper.find('[data-test=admin-memory-pin]').setValue(true)
    await flushPromises()
    expect(calls.at(-1)).toEqual(['PATCH', '/api/memories/m_1', { pinned: true }])
    expect((wrapper.find('[data-test=admin-memory-pin]').element as HTMLInputElement).checked).toBe(true)

    await wrapper.find('[data-test=admin-memory-delete]').trigger('click')
    await flushPromises()
    expect(calls.some(([method, url]) => method === 'DELETE' && url === '/api/memories/m_1')).toBe(true)

    vi.spyOn(window, 'confirm').mockReturnValue(true)
    await wrapper.find('[data-test=memory-person-delete]').trigger('click')
    await flushPromises()
    expect(calls.some(([method, url]) => method === 'DELETE' && url === '/api/memories?person=user%3Aa')).toBe(true)
  })

  it('says memory is not available on an agent without it', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(json(404, { error: { message: 'Not Found' } })))
    const wrapper = mount(MemoriesView)
    await flushPromises()
    expect(wrapper.find('[data-test=memories-unavailable]').exists()).toBe(true)
  })
})
