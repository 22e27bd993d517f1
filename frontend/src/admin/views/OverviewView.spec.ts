import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import type { OverviewResponse, OverviewSample } from '@/api/agentOverview'
import { useI18n } from '@/shared/composables/useI18n'
import OverviewView from './OverviewView.vue'

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } })

function sample(at: number, linked: boolean): OverviewSample {
  return {
    at, tokens_per_s: 12.5, ttft_ms: 240, queue: 0, running: 1, kv_used: 0.25, mode: linked ? 'relay' : 'offline',
    paths: { relay: { up: linked, rtt_ms: linked ? 3.2 : null }, direct: { up: false, rtt_ms: null } }, reconnects: 2,
    gateway: linked ? { users_online: 3, chat_sockets: 4, requests_in_flight: 1, queued_questions: 0, errors: 5, replicas: 1, age_s: 2 } : null,
  }
}

function overview(linked: boolean, url = 'wss://clone.example'): OverviewResponse {
  return { interval_s: 10, window_s: 3600, gateway_url: url, gateway_connected: linked, samples: [sample(100, linked), sample(110, linked)], current: sample(111, linked) }
}

const mountView = () => mount(OverviewView, { global: { stubs: { RouterLink: { template: '<a><slot /></a>' } } } })

describe('OverviewView', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    useI18n().setLocale('en')
  })
  afterEach(() => vi.useRealTimers())

  it('charts the agent, the link and the gateway with their current values', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(json(overview(true))))
    const wrapper = mountView()
    await flushPromises()
    const now = (chart: string) => wrapper.find(`[data-test=chart-${chart}] strong`).text()
    expect(now('tps')).toBe('13 tok/s') // 12.5 rounds half up
    expect(now('ttft')).toBe('240 ms')
    expect(now('kv')).toBe('25%')
    expect(now('relay-rtt')).toBe('3.2 ms')
    expect(now('direct-rtt')).toBe('not set up') // never configured: not an outage (issue 25)
    expect(now('reconnects')).toBe('2')
    expect(now('users')).toBe('3')
    expect(now('errors')).toBe('5')
    expect(wrapper.find('[data-test=overview-mode]').text()).toBe('relay')
    expect(wrapper.find('[data-test=overview-gateway-facts]').text()).toContain('Gateway processes: 1')
    expect(wrapper.find('[data-test=overview-gateway-missing]').exists()).toBe(false)
    expect(wrapper.find('[data-test=chart-users]').attributes('data-peak')).toBe('3')
    expect(wrapper.find('[data-test=chart-users] [role=img]').attributes('aria-label')).toBe('Users online: 3 (5 max)')
  })

  it('says the engine is idle instead of 0 tok/s, and leaves idle samples out of the speed line', async () => {
    const quiet = (at: number, rate: number, running: number) => ({ ...sample(at, true), tokens_per_s: rate, running })
    const body = { ...overview(true), samples: [quiet(100, 20, 1), quiet(110, 0, 0)], current: quiet(111, 0, 0) }
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(json(body)))
    const wrapper = mountView()
    await flushPromises()
    expect(wrapper.find('[data-test=chart-tps] strong').text()).toBe('idle')
    expect(wrapper.find('[data-test=chart-tps]').attributes('data-peak')).toBe('20')
    useI18n().setLocale('ru')
    await flushPromises()
    expect(wrapper.find('[data-test=chart-tps] strong').text()).toBe('простаивает')
    useI18n().setLocale('en')
  })

  it('says the gateway is not connected instead of showing its numbers', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValueOnce(json(overview(false))).mockResolvedValueOnce(json(overview(false, ''))))
    const wrapper = mountView()
    await flushPromises()
    expect(wrapper.find('[data-test=overview-gateway-missing]').text()).toContain('the link is down')
    expect(wrapper.find('[data-test=chart-users] strong').text()).toBe('—')
    expect(wrapper.find('[data-test=chart-users]').attributes('data-peak')).toBe('')
    expect(wrapper.find('[data-test=overview-mode]').text()).toBe('offline')
    useI18n().setLocale('ru')
    await flushPromises()
    expect(wrapper.find('[data-test=overview-mode]').text()).toBe('офлайн')
    expect(wrapper.find('[data-test=overview-gateway-missing]').text()).toContain('Шлюз не подключён')
    useI18n().setLocale('en')
    wrapper.unmount()

    const unset = mountView()
    await flushPromises()
    expect(unset.find('[data-test=overview-gateway-missing]').text()).toContain('no gateway is set up')
    // local-only is the owner's choice: no "offline" alarm, no red strip, no path "down" (issue 25)
    expect(unset.find('[data-test=overview-mode]').text()).toBe('this computer only')
    expect(unset.findAll('.mode-strip rect').every((rect) => rect.classes('mode-local'))).toBe(true)
    expect(unset.find('[data-test=chart-relay-rtt] strong').text()).toBe('not set up')
  })

  it('polls every few seconds while shown and stops when left', async () => {
    vi.useFakeTimers()
    const fetchMock = vi.fn().mockImplementation(async () => json(overview(true)))
    vi.stubGlobal('fetch', fetchMock)
    const wrapper = mountView()
    await vi.advanceTimersByTimeAsync(6100)
    expect(fetchMock).toHaveBeenCalledTimes(3)
    wrapper.unmount()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(fetchMock).toHaveBeenCalledTimes(3)
  })
})
