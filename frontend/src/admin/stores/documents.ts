// RAG documents: list (polled while any is queued or indexing), upload with progress and a visibility,
// who may read each (the owner only, or everyone), delete, search; the one-time notice of the upgrade
// that made the documents already there public.
import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import { ApiError } from '@/api/http'
import { agentApi, type DocumentVisibility, type RagDocument, type SearchHit } from '@/api/agent'

export interface Upload { name: string; fraction: number; error: string | null }

export const useDocumentsStore = defineStore('documents', () => {
  const documents = ref<RagDocument[]>([])
  const available = ref(true)
  const error = ref<string | null>(null)
  const uploads = ref<Upload[]>([])
  const hits = ref<SearchHit[] | null>(null)
  /** How many documents the upgrade made public, until the owner dismisses it (null: nothing to tell). */
  const madePublic = ref<number | null>(null)
  const busy = computed(() => documents.value.some((d) => d.status === 'queued' || d.status === 'indexing'))

  function fail(cause: unknown) {
    if (cause instanceof ApiError && cause.status === 404 && cause.code !== 'document_not_found') available.value = false
    else error.value = cause instanceof Error ? cause.message : String(cause)
  }

  async function load() {
    try {
      documents.value = await agentApi.listDocuments()
      available.value = true
      error.value = null
    } catch (cause) {
      fail(cause)
    }
  }

  async function upload(file: File, visibility: DocumentVisibility = 'owner') {
    uploads.value.push({ name: file.name, fraction: 0, error: null })
    const item = uploads.value[uploads.value.length - 1] // the reactive proxy, so progress shows
    try {
      await agentApi.uploadDocument(file, visibility, (fraction) => {
        item.fraction = fraction
      })
      uploads.value = uploads.value.filter((u) => u !== item)
      await load()
    } catch (cause) {
      item.fraction = 0
      item.error = cause instanceof Error ? cause.message : String(cause)
    }
  }

  /** Forget a failed upload's row. */
  function dismissUpload(item: { name: string }) {
    uploads.value = uploads.value.filter((u) => u !== item)
  }

  async function remove(id: string) {
    try {
      await agentApi.deleteDocument(id)
      documents.value = documents.value.filter((d) => d.id !== id)
    } catch (cause) {
      fail(cause)
    }
  }

  async function setVisibility(id: string, visibility: DocumentVisibility) {
    try {
      const changed = await agentApi.setDocumentVisibility(id, visibility)
      documents.value = documents.value.map((d) => (d.id === id ? changed : d))
    } catch (cause) {
      fail(cause)
    }
  }

  async function loadNotice() {
    try {
      madePublic.value = (await agentApi.getVisibilityNotice()).made_public
    } catch {
      madePublic.value = null // an agent without visibility has nothing to tell
    }
  }

  async function dismissNotice() {
    try {
      await agentApi.dismissVisibilityNotice()
      madePublic.value = null
    } catch (cause) {
      fail(cause)
    }
  }

  async function search(query: string) {
    if (!query.trim()) {
      hits.value = null
      return
    }
    try {
      hits.value = await agentApi.search(query.trim())
    } catch (cause) {
      fail(cause)
    }
  }

  return {
    documents, available, error, uploads, hits, busy, madePublic,
    load, upload, dismissUpload, remove, search, setVisibility, loadNotice, dismissNotice,
  }
})
