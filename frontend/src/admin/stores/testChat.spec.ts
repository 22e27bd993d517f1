import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useTestChatStore } from './testChat'

function sse(events: unknown[]): Response {
  const body = events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join('')
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } })
}
const json = (value: unknown, status = 200) =>
  new Response(status === 204 ? null : JSON.stringify(value), { status, headers: { 'Content-Type': 'application/json' } })

/** A fake agent: answers the stream with ``events`` and keeps a list of calls. */
function fakeAgent(events: unknown[] = [{ delta: 'ok' }, { done: true, conversation_id: 'conv-1', finish_reason: 'stop', usage: {} }]) {
  const calls: { url: string; method: string; body?: unknown }[] = []
  const fetchMock = vi.fn(async (url: string, init: RequestInit = {}) => {
    calls.push({ url, method: init.method ?? 'GET', body: init.body ? JSON.parse(String(init.body)) : undefined })
    if (url === '/api/chat/stream') return sse(events)
    if (url.startsWith('/api/conversations/conv-1/messages')) return json(null, 204)
    if (url === '/api/conversations/conv-1') {
      return json({
        id: 'conv-1', title: 'Hi', channel: 'local', created_at: 1, updated_at: 2, message_count: 2,
        messages: [
          { role: 'user', content: 'Hi', created_at: 1, finish_reason: null, sources: [] },
          { role: 'assistant', content: 'Hello', created_at: 2, finish_reason: 'stop', sources: [{ document_id: 'd', document_name: 'a.md', chunk_index: 0, text: 'A' }] },
        ],
      })
    }
    if (url.startsWith('/api/conversations')) return json([{ id: 'conv-1', title: 'Hi', channel: 'local', created_at: 1, updated_at: 2, message_count: 2 }])
    return json({ error: { message: 'not found' } }, 404)
  })
  vi.stubGlobal('fetch', fetchMock)
  return calls
}

describe('test chat store', () => {
  beforeEach(() => {
    setActivePinia(createPinia())
    localStorage.clear()
  })

  it('streams deltas and sources into the answer and keeps the conversation', async () => {
    const calls = fakeAgent([
      { sources: [{ document_id: 'd', document_name: 'notes.txt', chunk_index: 2, start: 0, end: 10 }] },
      { delta: 'Hel' },
      { delta: 'lo' },
      { done: true, conversation_id: 'conv-1', finish_reason: 'stop', usage: {} },
    ])
    const chat = useTestChatStore()
    await chat.send('Hi')
    expect(chat.messages[1]).toMatchObject({ content: 'Hello', status: 'done' })
    expect(chat.messages[1].sources[0].document_name).toBe('notes.txt')
    expect(chat.conversationId).toBe('conv-1')
    expect(chat.conversations.map((c) => c.id)).toEqual(['conv-1'])

    await chat.send('Again')
    const streams = calls.filter((c) => c.url === '/api/chat/stream')
    expect(streams[1].body).toEqual({ message: 'Again', conversation_id: 'conv-1' })
  })

  it('shows the conversation in the address, with its sources, and remembers it', async () => {
    fakeAgent()
    const chat = useTestChatStore()
    await chat.show('conv-1')
    expect(localStorage.getItem('aiclone.admin.conversation')).toBe('conv-1')
    expect(chat.messages.map((m) => m.content)).toEqual(['Hi', 'Hello'])
    expect(chat.messages[1].sources[0].text).toBe('A')
    expect(chat.conversationId).toBe('conv-1')
  })

  it('edit and resend cuts the stored conversation after the question and asks the new text', async () => {
    const calls = fakeAgent()
    const chat = useTestChatStore()
    await chat.open('conv-1')
    await chat.resend(0, 'Hi, edited')
    expect(calls.some((c) => c.method === 'DELETE' && c.url === '/api/conversations/conv-1/messages?keep=0')).toBe(true)
    expect(chat.messages.map((m) => m.content)).toEqual(['Hi, edited', 'ok'])
    await chat.regenerate(1)
    const streams = calls.filter((c) => c.url === '/api/chat/stream')
    expect(streams.at(-1)?.body).toEqual({ message: 'Hi, edited', conversation_id: 'conv-1' })
  })

  it('searches conversations through the agent', async () => {
    const calls = fakeAgent()
    const chat = useTestChatStore()
    await chat.search('otters & co')
    expect(calls.at(-1)?.url).toBe('/api/conversations?q=otters%20%26%20co')
  })

  it('shows an error event from the engine', async () => {
    fakeAgent([{ error: { message: 'engine down', code: 'engine_error' } }])
    const chat = useTestChatStore()
    await chat.send('Hi')
    expect(chat.messages[1]).toMatchObject({ status: 'error', error: 'The model failed. Check the Engine page and try again.' })
  })

  it('stop aborts the request', async () => {
    vi.stubGlobal('fetch', vi.fn((url: string, init: RequestInit) => url !== '/api/chat/stream'
      ? Promise.resolve(json([]))
      : new Promise((_resolve, reject) => {
        init.signal?.addEventListener('abort', () => reject(new DOMException('aborted', 'AbortError')))
      })))
    const chat = useTestChatStore()
    const sending = chat.send('Hi')
    expect(chat.busy).toBe(true)
    chat.stop()
    await sending
    expect(chat.messages[1].status).toBe('stopped')
    expect(chat.busy).toBe(false)
  })

  it('marks a last question with no answer, and regenerating it asks again', async () => {
    const calls = fakeAgent()
    const stored = {
      id: 'conv-2', title: 'Q', channel: 'local', created_at: 1, updated_at: 2, message_count: 1,
      messages: [{ role: 'user', content: 'Lost question', created_at: 1, finish_reason: null, sources: [] }],
    }
    const agent = vi.mocked(fetch).getMockImplementation()!
    vi.stubGlobal('fetch', vi.fn(async (url: string, init: RequestInit = {}) => {
      if (url === '/api/conversations/conv-2') return json(stored)
      if (url.startsWith('/api/conversations/conv-2/messages')) return json(null, 204)
      return agent(url, init)
    }))
    const chat = useTestChatStore()
    await chat.show('conv-2')
    expect(chat.messages.map((m) => [m.role, m.status])).toEqual([['user', 'done'], ['assistant', 'unanswered']])
    await chat.regenerate(1)
    expect(chat.messages.map((m) => [m.content, m.status])).toEqual([['Lost question', 'done'], ['ok', 'done']])
    expect(calls.filter((c) => c.url === '/api/chat/stream').at(-1)?.body).toEqual({ message: 'Lost question', conversation_id: 'conv-2' })
  })

  it('previews another channel\'s persona when one is chosen', async () => {
    const calls = fakeAgent()
    const chat = useTestChatStore()
    chat.previewChannel = 'web'
    await chat.send('Hi')
    expect(calls.find((c) => c.url === '/api/chat/stream')?.body).toEqual({ message: 'Hi', channel: 'web' })
  })
})
