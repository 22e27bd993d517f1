import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useTestChatStore } from './testChat'

function sse(events: unknown[]): Response {
  const body = events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join('')
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } })
}

describe('test chat store', () => {
  beforeEach(() => setActivePinia(createPinia()))

  it('streams deltas and sources into the answer and keeps the conversation', async () => {
    const fetchMock = vi.fn().mockResolvedValue(sse([
      { sources: [{ document_id: 'd', document_name: 'notes.txt', chunk_index: 2, start: 0, end: 10 }] },
      { delta: 'Hel' },
      { delta: 'lo' },
      { done: true, conversation_id: 'conv-1', finish_reason: 'stop', usage: {} },
    ]))
    vi.stubGlobal('fetch', fetchMock)
    const chat = useTestChatStore()
    await chat.send('Hi')
    expect(chat.messages[1]).toMatchObject({ content: 'Hello', status: 'done' })
    expect(chat.messages[1].sources[0].document_name).toBe('notes.txt')
    expect(chat.conversationId).toBe('conv-1')

    await chat.send('Again')
    expect(JSON.parse(fetchMock.mock.calls[1][1].body)).toEqual({ message: 'Again', conversation_id: 'conv-1' })
  })

  it('shows an error event from the engine', async () => {
    vi.stubGlobal('fetch', vi.fn().mockResolvedValue(sse([{ error: { message: 'engine down', code: 'engine_error' } }])))
    const chat = useTestChatStore()
    await chat.send('Hi')
    expect(chat.messages[1]).toMatchObject({ status: 'error', error: 'engine down' })
  })

  it('stop aborts the request', async () => {
    vi.stubGlobal('fetch', vi.fn((_url: string, init: RequestInit) => new Promise((_resolve, reject) => {
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
})
