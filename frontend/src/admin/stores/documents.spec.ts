import { beforeEach, describe, expect, it, vi } from 'vitest'
import { createPinia, setActivePinia } from 'pinia'
import { useDocumentsStore } from './documents'

const json = (status: number, body: unknown) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } })

const DOC = { id: 'd1', name: 'cv.md', size: 2048, chunks: 3, status: 'indexing', progress: 0.5, error: null, created_at: '2026-01-01T00:00:00Z' }

describe('documents store', () => {
  let fetchMock: ReturnType<typeof vi.fn>
  beforeEach(() => {
    setActivePinia(createPinia())
    fetchMock = vi.fn()
    vi.stubGlobal('fetch', fetchMock)
  })

  it('lists documents and knows when indexing is under way', async () => {
    fetchMock.mockResolvedValueOnce(json(200, [DOC]))
    const store = useDocumentsStore()
    await store.load()
    expect(store.documents).toHaveLength(1)
    expect(store.busy).toBe(true)
    fetchMock.mockResolvedValueOnce(json(200, [{ ...DOC, status: 'ready', progress: 1 }]))
    await store.load()
    expect(store.busy).toBe(false)
  })

  it('says RAG is unavailable when the agent has no such endpoint', async () => {
    fetchMock.mockResolvedValueOnce(json(404, { error: { message: 'Not Found', code: null } }))
    const store = useDocumentsStore()
    await store.load()
    expect(store.available).toBe(false)
  })

  it('deletes and searches', async () => {
    const store = useDocumentsStore()
    fetchMock.mockResolvedValueOnce(json(200, [DOC]))
    await store.load()
    fetchMock.mockResolvedValueOnce(new Response(null, { status: 204 }))
    await store.remove('d1')
    expect(fetchMock.mock.calls[1][0]).toBe('/api/rag/documents/d1')
    expect(fetchMock.mock.calls[1][1].method).toBe('DELETE')
    expect(store.documents).toEqual([])

    fetchMock.mockResolvedValueOnce(json(200, [{ document_id: 'd1', document_name: 'cv.md', chunk_index: 0, text: 'Python', score: 0.9 }]))
    await store.search('what languages')
    expect(fetchMock.mock.calls[2][0]).toBe('/api/rag/search?q=what%20languages&k=5')
    expect(store.hits?.[0].text).toBe('Python')
  })
  it('changes who may read a document and dismisses the upgrade notice once', async () => {
    const store = useDocumentsStore()
    fetchMock.mockResolvedValueOnce(json(200, [{ ...DOC, visibility: 'owner' }]))
    await store.load()
    fetchMock.mockResolvedValueOnce(json(200, { ...DOC, visibility: 'public' }))
    await store.setVisibility('d1', 'public')
    expect(fetchMock.mock.calls[1][0]).toBe('/api/rag/documents/d1')
    expect(fetchMock.mock.calls[1][1].method).toBe('PATCH')
    expect(JSON.parse(fetchMock.mock.calls[1][1].body)).toEqual({ visibility: 'public' })
    expect(store.documents[0].visibility).toBe('public')

    fetchMock.mockResolvedValueOnce(json(200, { made_public: 4 }))
    await store.loadNotice()
    expect(store.madePublic).toBe(4)
    fetchMock.mockResolvedValueOnce(new Response(null, { status: 204 }))
    await store.dismissNotice()
    expect(fetchMock.mock.calls[3][1].method).toBe('DELETE')
    expect(store.madePublic).toBeNull()
  })
})
