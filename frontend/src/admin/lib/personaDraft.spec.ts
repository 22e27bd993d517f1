import { describe, expect, it } from 'vitest'
import type { ChannelProfile } from '@/api/agent'
import { personaChanged, profileChanged } from './personaDraft'

const saved: ChannelProfile = { system_prompt_extra: 'WEB', max_tokens: null, adapter_scale: null, knowledge: 'selected', documents: ['a', 'b'], memory: 'on' }

describe('persona draft', () => {
  it('the persona is changed when its name or prompt differ from what the agent holds', () => {
    const clone = { id: 'c', name: 'Ada', system_prompt: 'You are Ada.' }
    expect(personaChanged(clone, 'Ada', 'You are Ada.')).toBe(false)
    expect(personaChanged(clone, 'Ada', 'You are Ada!')).toBe(true)
    expect(personaChanged(clone, 'Bob', 'You are Ada.')).toBe(true)
    expect(personaChanged(null, 'x', 'y')).toBe(false) // nothing loaded yet: nothing to lose
  })

  it('a channel profile is changed by any field, not by the order of its documents', () => {
    expect(profileChanged(saved, { ...saved, documents: ['b', 'a'] })).toBe(false)
    expect(profileChanged(saved, { ...saved, system_prompt_extra: 'WEB!' })).toBe(true)
    expect(profileChanged(saved, { ...saved, max_tokens: 64 })).toBe(true)
    expect(profileChanged(saved, { ...saved, documents: ['a'] })).toBe(true)
    expect(profileChanged(saved, { ...saved, memory: 'off' })).toBe(true)
  })
})
