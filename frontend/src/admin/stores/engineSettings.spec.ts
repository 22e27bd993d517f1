import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import type { EngineSettings } from '@/api/agent'
import { draftFrom } from '../lib/engineForm'
import { useEngineSettingsStore } from './engineSettings'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

const SAVED: EngineSettings = {
  temperature: 0.7, top_p: 0.95, max_tokens: 512, n_ctx: 4096, n_threads: 0, n_gpu_layers: 'auto', parallel: 4,
  base_model_path: '', pending_restart: [], restart_fields: ['base_model_path', 'n_ctx', 'n_threads', 'n_gpu_layers', 'parallel'],
}
const MODELS = { models: [], base_dir: '/bundle/models/base', base_model_path: '', running_path: '/bundle/models/base/a.gguf' }

describe('engine settings store', () => {
  let fetchMock: ReturnType<typeof vi.fn>
  beforeEach(async () => {
    setActivePinia(createPinia())
    fetchMock = vi.fn()
    vi.stubGlobal('fetch', fetchMock)
    fetchMock.mockResolvedValueOnce(json(200, SAVED)).mockResolvedValueOnce(json(200, MODELS))
    await useEngineSettingsStore().load()
  })

  it('puts only the changed fields and keeps what the agent answers', async () => {
    const store = useEngineSettingsStore()
    fetchMock.mockResolvedValueOnce(json(200, { ...SAVED, temperature: 0.2, n_ctx: 8192, pending_restart: ['n_ctx'] }))
    await store.save({ ...draftFrom(SAVED), temperature: 0.2, n_ctx: 8192 })
    const [url, init] = fetchMock.mock.calls.at(-1) as [string, RequestInit]
    expect(url).toBe('/api/engine/settings')
    expect(init.method).toBe('PUT')
    expect(JSON.parse(init.body as string)).toEqual({ temperature: 0.2, n_ctx: 8192 })
    expect(store.settings?.pending_restart).toEqual(['n_ctx'])
    expect(store.savedAt).not.toBeNull()
    expect(store.fieldErrors).toEqual({})
  })

  it('shows each refused field from its code, in the page\'s language, and keeps the saved settings', async () => {
    const store = useEngineSettingsStore()
    fetchMock.mockResolvedValueOnce(json(400, {
      error: {
        message: 'temperature: Input should be less than or equal to 2; parallel: Input should be greater than or equal to 1',
        type: 'invalid_request_error', param: 'temperature', code: 'invalid_request',
        fields: { temperature: 'Input should be less than or equal to 2', parallel: 'Input should be greater than or equal to 1' },
        field_codes: { temperature: { code: 'too_large', params: { max: 2 } }, parallel: { code: 'too_small', params: { min: 1 } } },
      },
    }))
    await store.save({ ...draftFrom(SAVED), temperature: 9, parallel: 0 })
    expect(store.fieldErrors).toEqual({ temperature: 'At most 2.', parallel: 'At least 1.' })
    expect(store.error).toBeNull()
    expect(store.savedAt).toBeNull()
    expect(store.settings).toEqual(SAVED)
  })

  it('says why a model file is refused', async () => {
    const store = useEngineSettingsStore()
    const message = 'broken.gguf is not a valid GGUF model (not a GGUF v2+ file): pick another file'
    const path = 'models/base/broken.gguf'
    fetchMock.mockResolvedValueOnce(json(400, {
      error: {
        message: `base_model_path: ${message}`, type: 'invalid_request_error', param: 'base_model_path', code: 'invalid_setting',
        fields: { base_model_path: message }, field_codes: { base_model_path: { code: 'not_a_model', params: { path } } },
      },
    }))
    await store.pickModel(path)
    expect(store.modelError).toBe(`${path} is not a model file this engine can load. Pick another file.`)
    expect(store.settings?.base_model_path).toBe('')
  })
  it('Apply now follows the reload to its end and then shows the settings it left', async () => {
    const store = useEngineSettingsStore()
    const reload = { error: null, running: 0, started_at: 1, finished_at: null }
    fetchMock
      .mockResolvedValueOnce(json(202, { ...reload, state: 'draining', running: 1 }))
      .mockResolvedValueOnce(json(200, { engine_reload: { ...reload, state: 'loading' } }))
      .mockResolvedValueOnce(json(200, { engine_reload: { ...reload, state: 'failed', error: 'llama.cpp could not load x.gguf', finished_at: 2 } }))
      .mockResolvedValueOnce(json(200, { ...SAVED, pending_restart: ['parallel'] }))
      .mockResolvedValueOnce(json(200, MODELS))
    await store.applyNow(0)
    const urls = fetchMock.mock.calls.slice(2).map(([url]) => url)
    expect(urls).toEqual(['/api/engine/reload', '/api/status', '/api/status', '/api/engine/settings', '/api/engine/models'])
    expect(store.reload?.state).toBe('failed')
    expect(store.reload?.error).toBe('llama.cpp could not load x.gguf')
    expect(store.settings?.pending_restart).toEqual(['parallel']) // still waiting: the old engine serves
  })
})
