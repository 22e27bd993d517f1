import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import OwnerView from './OwnerView.vue'
import { differingFingerprints } from '../stores/owner'
import type { AgentToken } from '@/api/gateway'
import { useI18n } from '@/shared/composables/useI18n'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })
const print = { model: 'SmolLM2', adapter: '', persona: 'aaaaaa111111', documents: 'bbbbbb222222' }
const agent = (id: string, name: string, extra: Partial<AgentToken> = {}): AgentToken => ({
  id, name, created_at: 1764000000, linked: true, mode: 'relay', running: 1, waiting: 2, parallel: 4,
  in_flight: 3, tokens_per_s: 41.25, rtt_ms: 3.2, fingerprint: print, replica: null, ...extra,
})

/** The gateway as the owner page sees it: a session, then the owner routes. */
function gateway(tokens: () => AgentToken[]) {
  vi.stubGlobal('fetch', vi.fn(async (url: string) => {
    if (url === '/api/auth/refresh') return json(200, { access_token: 'a', refresh_token: 'r2', token_type: 'bearer', expires_in: 900 })
    if (url === '/api/users/me') return json(200, { id: 'u1', email: 'owner@example.test', role: 'owner' })
    if (url === '/api/agents') return json(200, tokens())
    if (url === '/api/admin/users') return json(200, [{ id: 'u1', email: 'owner@example.test', role: 'owner', created_at: 1764000000 }])
    if (url === '/api/admin/registration') return json(200, { mode: 'open' })
    if (url === '/api/admin/invites') return json(200, [])
    return json(404, { error: { message: 'no', code: 'not_found' } })
  }))
}

const mountView = () => mount(OwnerView, { global: { stubs: { RouterLink: { template: '<a><slot /></a>' } } } })

describe('OwnerView: the agents of the clone', () => {
  beforeEach(() => {
    localStorage.clear()
    localStorage.setItem('aiclone.refresh_token', 'r1')
    setActivePinia(createPinia())
    useI18n().setLocale('en')
  })

  it("shows each agent's link, mode, load, speed and what it serves, without a warning when they agree", async () => {
    gateway(() => [agent('a1', 'home pc'), agent('a2', 'office pc', { mode: 'hybrid', running: 0, waiting: 0 }), agent('a3', 'old laptop', { linked: false, mode: 'offline', fingerprint: null })])
    const wrapper = mountView()
    await flushPromises()
    const rows = wrapper.findAll('[data-test=token-row]')
    expect(rows.map((row) => row.find('[data-test=token-mode]').text())).toEqual(['relay', 'hybrid', '—'])
    expect(rows[0].find('[data-test=token-load]').text()).toBe('1/4 running, 2 waiting')
    expect(rows[0].find('[data-test=token-speed]').text()).toBe('41.3')
    expect(rows[0].find('[data-test=token-serves]').text()).toBe('SmolLM2 · no adapter · persona aaaaaa · documents bbbbbb')
    expect(rows[2].find('[data-test=token-load]').text()).toBe('—')
    expect(wrapper.find('[data-test=agents-differ]').exists()).toBe(false)
    wrapper.unmount()
  })

  it('warns when the linked agents serve different adapters or documents (an unlinked one does not count)', async () => {
    gateway(() => [
      agent('a1', 'home pc'),
      agent('a2', 'office pc', { fingerprint: { ...print, adapter: 'me@1', documents: 'cccccc333333' } }),
      agent('a3', 'old laptop', { linked: false, fingerprint: { ...print, model: 'Other' } }),
    ])
    const wrapper = mountView()
    await flushPromises()
    const warning = wrapper.find('[data-test=agents-differ]')
    expect(warning.attributes('role')).toBe('status')
    expect(warning.text()).toContain('different adapters, documents')
    expect(warning.text()).not.toContain('models')
    wrapper.unmount()
  })

  it('compares only the linked agents that reported what they serve', () => {
    expect(differingFingerprints([agent('a', 'a'), agent('b', 'b', { fingerprint: null })])).toEqual([])
    expect(differingFingerprints([agent('a', 'a'), agent('b', 'b', { fingerprint: { ...print, persona: 'x' } })])).toEqual(['persona'])
  })
})
