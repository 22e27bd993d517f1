import { beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import ModelPicker from './ModelPicker.vue'
import { useEngineSettingsStore } from '../stores/engineSettings'
import { useI18n } from '@/shared/composables/useI18n'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

const MODEL = { file: 'b.gguf', path: '/m/b.gguf', size_bytes: 1, name: 'B', architecture: null, quantization: null, error: null, saved: true, running: false }

describe('ModelPicker', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    useI18n().setLocale('en')
  })

  it('loads a chosen model with Apply now (an engine reload), not a restart of the agent', async () => {
    const fetchMock = vi.fn().mockResolvedValueOnce(json(202, { state: 'failed', error: 'b.gguf is not a GGUF file', running: 0 }))
    vi.stubGlobal('fetch', fetchMock)
    const store = useEngineSettingsStore()
    store.settings = { pending_restart: ['base_model_path'], restart_fields: [] } as never
    store.models = { base_dir: '/m', base_model_path: '/m/b.gguf', models: [MODEL] } as never
    const wrapper = mount(ModelPicker)
    expect(wrapper.find('[data-test=model-pending]').text()).toBe('Saved. Press Apply now to load the chosen model.')
    expect(wrapper.text()).not.toContain('restart')
    await wrapper.find('[data-test=model-apply]').trigger('click')
    await flushPromises()
    expect(fetchMock.mock.calls[0][0]).toBe('/api/engine/reload')
    expect(fetchMock.mock.calls[0][1].method).toBe('POST')
    expect(wrapper.find('[data-test=model-reload-state]').text()).toContain('b.gguf is not a GGUF file')
  })
})
