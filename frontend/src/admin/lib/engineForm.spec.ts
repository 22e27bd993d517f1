import { describe, expect, it } from 'vitest'
import type { EngineSettings } from '@/api/agent'
import { changesFrom, draftFrom, valueOf } from './engineForm'

const SAVED: EngineSettings = {
  temperature: 0.7, top_p: 0.95, max_tokens: 512, n_ctx: 4096, n_threads: 0, n_gpu_layers: 'auto', parallel: 4,
  base_model_path: '', pending_restart: [], restart_fields: ['base_model_path', 'n_ctx', 'n_threads', 'n_gpu_layers', 'parallel'],
}

describe('engine settings form', () => {
  it('sends only what changed, as numbers or auto', () => {
    const draft = draftFrom(SAVED)
    expect(changesFrom(draft, SAVED)).toEqual({})
    draft.temperature = 0.2
    draft.n_gpu_layers = ' 12 '
    draft.n_ctx = '8192'
    expect(changesFrom(draft, SAVED)).toEqual({ temperature: 0.2, n_gpu_layers: 12, n_ctx: 8192 })
    draft.n_gpu_layers = 'AUTO'
    expect(changesFrom(draft, SAVED)).toEqual({ temperature: 0.2, n_ctx: 8192 })
  })

  it('passes what is not a number on as typed, for the agent to name the problem', () => {
    expect(valueOf('n_gpu_layers', 'most')).toBe('most')
    expect(valueOf('max_tokens', '')).toBe('')
    expect(changesFrom({ ...draftFrom(SAVED), top_p: '' }, SAVED)).toEqual({ top_p: '' })
  })
})
