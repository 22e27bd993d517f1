import { describe, expect, it } from 'vitest'
import type { AgentStatus, RagDocument } from '@/api/agent'
import { firstRunChecklist, headerBadge, pathConfigured } from './firstRun'

function status(gateway: AgentStatus['gateway'], reload: 'idle' | 'loading' = 'idle'): AgentStatus {
  return {
    version: '1', backend: 'llama.cpp', backend_reason: '', model: { name: 'm', path: '/m.gguf' }, context_size: 2048,
    uptime_s: 1, network_mode: 'offline', clone: { id: 'c', name: 'Ada' }, gateway,
    engine_reload: { state: reload, error: null, running: 0, started_at: null, finished_at: null },
  }
}
const doc = (state: RagDocument['status']) => ({ id: 'd', name: 'a.md', size: 1, chunks: 1, status: state, progress: 1, error: null, created_at: 1 }) as RagDocument

describe('first-run checklist', () => {
  it('a fresh local-only clone: model ready, persona and documents to do, gateway and Telegram optional', () => {
    const steps = firstRunChecklist({ status: status({ url: '', connected: false, rtt_ms: null }), clone: { id: 'c', name: 'Ada', system_prompt: '' }, documents: [doc('indexing')], telegram: { enabled: false, bots: [], delivery: 'polling', status: 'stopped', last_error: null } })
    expect(Object.fromEntries(steps.map((s) => [s.key, s.state]))).toEqual({ model: 'done', persona: 'todo', documents: 'todo', gateway: 'optional', telegram: 'optional' })
  })

  it('a clone set up everywhere is done; a linked gateway not connected yet is waiting, a loading model too', () => {
    const done = firstRunChecklist({ status: status({ url: 'https://c.example', connected: true, rtt_ms: 3 }), clone: { id: 'c', name: 'Ada', system_prompt: 'You are Ada.' }, documents: [doc('ready')], telegram: { enabled: true, bots: [{ bot_id: 1, token: '1:*', linked_clone_id: 'c' }], delivery: 'polling', status: 'running', last_error: null } })
    expect(done.every((s) => s.state === 'done')).toBe(true)
    const waiting = firstRunChecklist({ status: status({ url: 'https://c.example', connected: false, rtt_ms: null }, 'loading'), clone: null, documents: [], telegram: null })
    expect(waiting.find((s) => s.key === 'gateway')?.state).toBe('waiting')
    expect(waiting.find((s) => s.key === 'model')?.state).toBe('waiting')
  })
})

describe('header badge', () => {
  it('local-only is a normal state, a gateway that is set up but unreachable is not', () => {
    expect(headerBadge(status({ url: '', connected: false, rtt_ms: null }), false)).toEqual({ key: 'localOnly', tone: 'ok' })
    expect(headerBadge(status({ url: 'https://c.example', connected: true, rtt_ms: 1 }), false)).toEqual({ key: 'online', tone: 'ok' })
    expect(headerBadge(status({ url: 'https://c.example', connected: false, rtt_ms: null }), false).tone).toBe('bad')
    expect(headerBadge(null, true)).toEqual({ key: 'agentDown', tone: 'bad' })
  })

  it('a path never configured is not set up (not down)', () => {
    const local = status({ url: '', connected: false, rtt_ms: null, direct_url: null })
    expect(pathConfigured('relay', local, '')).toBe(false)
    expect(pathConfigured('direct', local, '')).toBe(false)
    expect(pathConfigured('direct', status({ url: 'x', connected: true, rtt_ms: 1, direct_url: 'wss://pc:8443' }), 'x')).toBe(true)
  })
})
