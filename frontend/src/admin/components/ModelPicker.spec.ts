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
    const failed = { state: 'failed', error: 'llama.cpp could not load b.gguf (not a usable GGUF model?)', error_code: 'model_load_failed', error_params: { file: 'b.gguf' }, running: 0 }
    const fetchMock = vi.fn().mockResolvedValueOnce(json(202, failed))
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
    // the code's sentence (what to do), never llama.cpp's words
    const said = wrapper.find('[data-test=model-reload-state]').text()
    expect(said).toContain('The model b.gguf could not be loaded')
    expect(said).not.toContain('llama.cpp')
  })

  it('says why a listed file cannot be used from its code, never the header reader words', () => {
    useI18n().setLocale('ru')
    const store = useEngineSettingsStore()
    store.settings = { pending_restart: [], restart_fields: [] } as never
    const cut = { ...MODEL, file: 'cut.gguf', name: null, saved: false, error: 'cut.gguf is not a valid GGUF model (truncated: 2000 bytes)', error_code: 'model_not_gguf' }
    store.models = { base_dir: '/m', base_model_path: '', models: [cut] } as never
    const said = mount(ModelPicker).find('[data-test=model-error]').text()
    expect(said).toContain('Это не модель GGUF')
    expect(said).not.toContain('truncated')
  })

  it('says a failed reload in Russian from its code, and a sentence of its own for one without a code', async () => {
    useI18n().setLocale('ru')
    const store = useEngineSettingsStore()
    store.settings = { pending_restart: [], restart_fields: [] } as never
    store.models = { base_dir: '/m', base_model_path: '/m/b.gguf', models: [MODEL] } as never
    store.reload = { state: 'failed', error: 'llama.cpp could not create a context of 8192 tokens for b.gguf', error_code: 'model_context_failed', error_params: { file: 'b.gguf', n_ctx: 8192 }, running: 0, started_at: 1, finished_at: 2 }
    const wrapper = mount(ModelPicker)
    expect(wrapper.find('[data-test=model-reload-state]').text()).toContain('Не хватает памяти для контекста в 8192 токенов с моделью b.gguf')
    store.reload = { ...store.reload, error: 'RuntimeError: boom', error_code: null, error_params: null }
    await flushPromises()
    const said = wrapper.find('[data-test=model-reload-state]').text()
    expect(said).toContain('Движок не удалось перезагрузить')
    expect(said).not.toContain('RuntimeError')
  })
})
