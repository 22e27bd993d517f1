import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import type { OutgoingMessage } from '@/api/gateway'
import type { Usage } from '@/api/chatFrames'
import { useChatStore, type ChatTransport } from './chat'

const usage: Usage = { prompt_tokens: 12, completion_tokens: 3, total_tokens: 15 }

function fakeTransport() {
  const sent: OutgoingMessage[] = []
  const cancelled: (string | null)[] = []
  const transport: ChatTransport = {
    send: (message) => void sent.push(message),
    cancel: (requestId) => void cancelled.push(requestId),
  }
  return { transport, sent, cancelled }
}

describe('chat store', () => {
  beforeEach(() => {
    localStorage.clear()
    setActivePinia(createPinia())
    // conversation list reloads go to the gateway; an empty list is enough here
    vi.stubGlobal('fetch', vi.fn(async () => new Response('[]', { status: 200 })))
  })

  const remembered = { id: 'm_1', text: 'Q: my dog is Rex\nA: Nice!', at: '2026-11-30T18:05:00Z', conversation_id: 'c0', channel: 'web', pinned: false }

  it('streams an answer: accepted, chunks, then end with its sources and the memories it was given', () => {
    const chat = useChatStore()
    const { transport, sent } = fakeTransport()
    chat.attach(transport)
    chat.send('Hello?')
    expect(sent).toEqual([{ type: 'message', conversation_id: null, text: 'Hello?', client_id: expect.any(String) }])
    expect(chat.busy).toBe(true)

    const clientId = sent[0].client_id
    chat.handleFrame({ type: 'accepted', request_id: 'r1', conversation_id: 'c1', client_id: clientId, message_id: 'm2' })
    expect(chat.currentId).toBe('c1')
    chat.handleFrame({ type: 'chunk', request_id: 'r1', delta: 'Hi' })
    chat.handleFrame({ type: 'chunk', request_id: 'r1', delta: ' there' })
    chat.handleFrame({ type: 'end', request_id: 'r1', finish_reason: 'stop', usage, message_id: 'm2', sources: [{ document_id: 'd', document_name: 'cv.md', chunk_index: 0, start: 0, end: 12, text: 'Python, Rust' }], memories: [remembered] })

    const answer = chat.messages[1]
    expect(answer).toMatchObject({ role: 'assistant', content: 'Hi there', status: 'done', id: 'm2' })
    expect(answer.sources[0].document_name).toBe('cv.md')
    expect(answer.memories).toEqual([remembered])
    expect(chat.busy).toBe(false)
  })

  it('stop cancels the running request and ignores late chunks', () => {
    const chat = useChatStore()
    const { transport, sent, cancelled } = fakeTransport()
    chat.attach(transport)
    chat.send('Tell me a long story')
    chat.handleFrame({ type: 'accepted', request_id: 'r9', conversation_id: 'c1', client_id: sent[0].client_id, message_id: 'm' })
    chat.handleFrame({ type: 'chunk', request_id: 'r9', delta: 'Once' })
    chat.stop()
    expect(cancelled).toEqual(['r9'])
    chat.handleFrame({ type: 'chunk', request_id: 'r9', delta: ' upon' })
    chat.handleFrame({ type: 'end', request_id: 'r9', finish_reason: 'cancelled', usage, message_id: 'm', sources: [], memories: [] })
    expect(chat.messages[1]).toMatchObject({ content: 'Once', status: 'stopped' })
  })

  it('a question asked while the clone is offline is pending, then filled in by the answer frame', () => {
    const chat = useChatStore()
    const { transport } = fakeTransport()
    chat.attach(transport)
    chat.handleFrame({ type: 'status', agent_online: false, network_mode: 'offline' })
    chat.send('Are you there?')
    chat.handleFrame({ type: 'queued', request_id: 'r2', conversation_id: 'c7', message_id: 'm7', message: 'offline' })
    expect(chat.messages[1]).toMatchObject({ status: 'pending', id: 'm7' })
    expect(chat.hasPending).toBe(true)
    expect(chat.busy).toBe(false)

    chat.handleFrame({ type: 'status', agent_online: true, network_mode: 'relay' })
    chat.handleFrame({ type: 'answer', conversation_id: 'c7', message_id: 'm7', content: 'I am back.', status: 'done', sources: [], memories: [] })
    expect(chat.messages[1]).toMatchObject({ status: 'done', content: 'I am back.' })
    expect(chat.agentOnline).toBe(true)
  })

  it('an error frame marks the answer failed with the message', () => {
    const chat = useChatStore()
    const { transport, sent } = fakeTransport()
    chat.attach(transport)
    chat.send('Hi')
    chat.handleFrame({ type: 'accepted', request_id: 'r3', conversation_id: 'c1', client_id: sent[0].client_id, message_id: 'm' })
    chat.handleFrame({ type: 'error', request_id: 'r3', code: 'engine_error', message: 'model crashed', retry_after: null })
    expect(chat.messages[1]).toMatchObject({ status: 'error', error: 'The model failed. Check the Engine page and try again.' })
  })

  it('a failed answer is asked again as a new turn of its conversation', () => {
    const chat = useChatStore()
    const { transport, sent } = fakeTransport()
    chat.attach(transport)
    chat.send('Tell me a story')
    chat.handleFrame({ type: 'accepted', request_id: 'r4', conversation_id: 'c1', client_id: sent[0].client_id, message_id: 'm' })
    chat.handleFrame({ type: 'chunk', request_id: 'r4', delta: 'Once upon' })
    chat.handleFrame({ type: 'error', request_id: 'r4', code: 'agent_disconnected', message: 'the link to the clone was lost; please retry', retry_after: null })
    chat.retry(1)
    expect(sent).toHaveLength(2)
    expect(sent[1]).toMatchObject({ type: 'message', conversation_id: 'c1', text: 'Tell me a story' })
    expect(chat.messages.map((m) => [m.role, m.status])).toEqual([['user', 'done'], ['assistant', 'streaming']])
    chat.retry(1) // only a failed answer, never one on its way
    expect(sent).toHaveLength(2)
  })

  it('ignores answers to other conversations', () => {
    const chat = useChatStore()
    chat.attach(fakeTransport().transport)
    chat.send('Hi')
    chat.handleFrame({ type: 'answer', conversation_id: 'elsewhere', message_id: 'x', content: 'nope', status: 'done', sources: [], memories: [] })
    expect(chat.messages[1].content).toBe('')
  })
})
