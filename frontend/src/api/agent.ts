// Client for the local agent's admin API (same origin: the agent serves the admin panel).
import type { Memory, Source } from '@/shared/types/chat'
import { ApiError, errorFrom, errorFromBody, fetchOrNetworkError, jsonBody, requestJson } from './http'
import { readSseJson } from './sse'
import type { AgentChatEvent } from './agentChatEvents'
import type { OverviewResponse } from './agentOverview'

export interface Clone { id: string; name: string; system_prompt: string }

export interface AgentStatus {
  version: string
  backend: string
  /** Why this engine, for API clients and the log; the page says ``backend_reason_code`` instead. */
  backend_reason: string
  /** The reasons as the page says them: a catalogue code (``error.<code>``) and its params. */
  backend_reason_code?: string | null
  backend_reason_params?: Record<string, string | number>
  model: {
    name: string
    display_name?: string
    path: string
    chosen_because?: string
    chosen_because_code?: string | null
    chosen_because_params?: Record<string, string | number>
    [key: string]: unknown
  }
  context_size: number
  uptime_s: number
  network_mode: string
  clone: { id: string; name: string }
  gateway?: { url: string; connected: boolean; rtt_ms: number | null; direct_url?: string | null }
  gpu?: GpuStatus | null
  rag?: { search: 'hybrid' | 'lexical'; note: string | null; note_code?: string | null }
  engine?: EngineStats | null
  engine_reload?: EngineReload | null
  adapter?: AdapterStatus
}

/** POST /api/engine/reload and ``/api/status`` ``engine_reload``: applying saved settings in-process. */
export interface EngineReload {
  state: 'idle' | 'draining' | 'loading' | 'done' | 'failed'
  /** Why the last reload failed (the previous engine kept serving): for the log, never shown. */
  error: string | null
  /** What the page says instead: a catalogue code (``error.<code>``) and its params (file, n_ctx). */
  error_code?: string | null
  error_params?: Record<string, string | number> | null
  /** Answers still streaming while draining. */
  running: number
  started_at: number | null
  finished_at: number | null
}

/** The clone's LoRA adapter; PUT /api/adapter takes this shape back and applies its scale. */
export interface AdapterStatus {
  state: 'loading' | 'applied' | 'failed' | 'none'
  reason: string
  /** A failure the page says from the catalogue (``error.<code>``) instead of ``reason`` (then a library's words). */
  reason_code?: string | null
  path: string
  name: string
  rank: number | null
  alpha: number | null
  scale: number
  targets: string[]
}

export interface GpuStatus {
  name: string | null
  vram_total_mib: number | null
  vram_used_mib: number | null
  n_gpu_layers: string
  layers_offloaded: number
  layers_total: number
  /** Why this many layers, for API clients (may hold nvidia-smi's words); the page says ``reason_code``. */
  reason: string
  reason_code?: string | null
  reason_params?: Record<string, string | number>
}

/** The batching engine's live numbers (``/api/status`` ``engine``). */
export interface EngineStats {
  parallel: number
  max_queue: number
  waiting: number
  waiting_by_channel: Record<string, number>
  running: number
  prefilling: number
  rejected: number
  last_batch_tokens: number
  last_batch_sequences: number
  kv_cells_used: number
  kv_cells_total: number
  cached_sequences: number
  cache_ram_bytes: number
  cache_ram_limit_bytes: number
  prefix_cache: {
    hit_tokens: number
    miss_tokens: number
    hits: number
    misses: number
    restored: number
    restore_failures: number
    dropped: number
  }
  wait_seconds_by_channel: Record<string, { count: number; sum: number; max: number }>
}

/** GET /api/engine/settings; PUT takes the same shape (or any part of it) back. */
export interface EngineSettings {
  temperature: number
  top_p: number
  max_tokens: number
  n_ctx: number
  n_threads: number
  n_gpu_layers: number | 'auto'
  parallel: number
  base_model_path: string
  /** Read-only: saved, but the running engine uses the old value until the agent restarts. */
  pending_restart: string[]
  /** Read-only: the fields that take effect on restart. */
  restart_fields: string[]
}
export type EngineSettingsField = Exclude<keyof EngineSettings, 'pending_restart' | 'restart_fields'>

/** One *.gguf file in models/base/ (GET /api/engine/models). */
export interface ModelChoice {
  file: string
  path: string
  size_bytes: number
  name: string | null
  architecture: string | null
  quantization: string | null
  /** Why it cannot be used, in the header reader's words: for the log, never shown. */
  error: string | null
  /** What the page says instead (``error.<code>``). */
  error_code?: string | null
  saved: boolean
  running: boolean
}
export interface ModelList { models: ModelChoice[]; base_dir: string; base_model_path: string; running_path: string }

export interface AgentConversation {
  id: string
  title: string
  channel: string
  created_at: number
  updated_at: number
  message_count: number
  author?: string | null
}
export interface AgentStoredMessage {
  role: 'user' | 'assistant'
  content: string
  created_at: number
  finish_reason: string | null
  sources: Source[]
}
export interface AgentConversationDetail extends AgentConversation { messages: AgentStoredMessage[] }

export type ChannelName = 'owner' | 'web' | 'telegram' | 'api'
export interface ChannelProfile {
  system_prompt_extra: string
  max_tokens: number | null
  adapter_scale: number | null
  knowledge: 'all' | 'none' | 'selected'
  documents: string[]
  memory: 'on' | 'off'
}
export type ChannelProfiles = Record<ChannelName, ChannelProfile>

export type DocumentStatus = 'queued' | 'indexing' | 'ready' | 'failed'
export interface RagDocument {
  id: string
  name: string
  size: number
  chunks: number
  status: DocumentStatus
  progress: number
  /** Why it failed, in the parser's words: for the log, never shown. */
  error: string | null
  /** What the page says instead (``error.<code>``). */
  error_code?: string | null
  created_at: string | number
  /** owner: only the owner's own chats read it; public: every channel may retrieve and cite it. */
  visibility: DocumentVisibility
}
export type DocumentVisibility = 'owner' | 'public'
/** Documents the upgrade to per-document visibility made public (null: nothing to tell). */
export interface VisibilityNotice { made_public: number | null }

/** A listener the admin restarts in-process (``/api/listeners/{lan,direct}``). */
export type ListenerName = 'lan' | 'direct'
export interface ListenerSettings { enabled: boolean; host: string; port: number; advertise_url?: string }
export interface ListenerStatus {
  settings: ListenerSettings
  state: 'stopped' | 'restarting' | 'running' | 'failed'
  address: string | null
  /** Why the last start could not listen, in the OS's words: for the log, never shown. */
  error: string | null
  /** Saved settings the listener does not run with yet. */
  pending: boolean
  /** What the page says instead: a catalogue code (``error.<code>``) and its params (host, port). */
  error_code?: string | null
  error_params?: Record<string, string | number> | null
}
export interface SearchHit extends Source { text: string; score: number }

export interface GatewayLink {
  url: string
  agent_token: string
  mode?: string
  connected: boolean
  rtt_ms: number | null
  last_error?: string | null
  /** The same as a code the page says in its language (the words above are for the log). */
  last_error_code?: string | null
}

export interface TelegramBot { bot_id: string | number | null; token: string; linked_clone_id: string | null }
export interface TelegramSettings {
  enabled: boolean
  bots: TelegramBot[]
  delivery: 'webhook' | 'polling' | string
  status: string
  last_error: string | null
  last_error_code?: string | null
  allowed_user_ids?: number[]
}

// The test chat's stream events are generated from the agent's models (./agentChatEvents.ts).
export type { AgentChatEvent } from './agentChatEvents'

/** Whose memories there are: a person key (owner, user:<id>, telegram:<bot>:<user>) and how many. */
export interface MemoryPerson { person: string; count: number }
export interface MemoryListing { memories: Memory[]; persons: MemoryPerson[] }

/** The query string of the admin's memory calls (empty values left out). */
function memoryQuery(params: Record<string, string | number | undefined>): string {
  const query = new URLSearchParams()
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== '') query.set(key, String(value))
  const text = query.toString()
  return text ? `?${text}` : ''
}

export const agentApi = {
  getClone: () => requestJson<Clone>('/api/clone'),
  updateClone: (changes: Partial<Pick<Clone, 'name' | 'system_prompt'>>) =>
    requestJson<Clone>('/api/clone', { method: 'PUT', ...jsonBody(changes) }),
  getChannels: () => requestJson<ChannelProfiles>('/api/channels'),
  updateChannels: (changes: Partial<ChannelProfiles>) =>
    requestJson<ChannelProfiles>('/api/channels', { method: 'PUT', ...jsonBody(changes) }),
  getStatus: () => requestJson<AgentStatus>('/api/status'),
  getOverview: () => requestJson<OverviewResponse>('/api/overview'),

  async getMetrics(): Promise<string> {
    const response = await fetchOrNetworkError('/metrics')
    if (!response.ok) throw await errorFrom(response)
    return response.text()
  },

  /** ``channel``: answer with that channel's persona (the owner's preview); none: the owner's own. */
  async *streamChat(message: string, conversationId: string | null, signal: AbortSignal, channel: ChannelName | null = null): AsyncGenerator<AgentChatEvent> {
    const response = await fetchOrNetworkError('/api/chat/stream', {
      method: 'POST',
      signal,
      ...jsonBody({ message, conversation_id: conversationId ?? undefined, channel: channel ?? undefined }),
    })
    if (!response.ok || !response.body) throw await errorFrom(response)
    for await (const event of readSseJson(response.body, signal)) yield event as AgentChatEvent
  },

  listConversations: (query = '') =>
    requestJson<AgentConversation[]>(`/api/conversations${query ? `?q=${encodeURIComponent(query)}` : ''}`),
  getConversation: (id: string) => requestJson<AgentConversationDetail>(`/api/conversations/${encodeURIComponent(id)}`),
  renameConversation: (id: string, title: string) =>
    requestJson<AgentConversation>(`/api/conversations/${encodeURIComponent(id)}`, { method: 'PATCH', ...jsonBody({ title }) }),
  deleteConversation: (id: string) => requestJson<void>(`/api/conversations/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  /** Keeps the first ``keep`` messages of a conversation and forgets the rest. */
  truncateConversation: (id: string, keep: number) =>
    requestJson<void>(`/api/conversations/${encodeURIComponent(id)}/messages?keep=${keep}`, { method: 'DELETE' }),

  // Every person's memories (issue 24), the owner only
  listMemories: (options: { person?: string; q?: string; limit?: number; offset?: number } = {}) =>
    requestJson<MemoryListing>(`/api/memories${memoryQuery(options)}`),
  pinMemory: (id: string, pinned: boolean) =>
    requestJson<Memory>(`/api/memories/${encodeURIComponent(id)}`, { method: 'PATCH', ...jsonBody({ pinned }) }),
  deleteMemory: (id: string) => requestJson<void>(`/api/memories/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  deletePersonMemories: (person: string) =>
    requestJson<{ deleted: number }>(`/api/memories${memoryQuery({ person })}`, { method: 'DELETE' }),
  /** The address of a person's memories as a JSON file (a link downloads it). */
  memoryExportUrl: (person?: string) => `/api/memories/export${memoryQuery({ person })}`,

  listDocuments: () => requestJson<RagDocument[]>('/api/rag/documents'),
  deleteDocument: (id: string) => requestJson<void>(`/api/rag/documents/${encodeURIComponent(id)}`, { method: 'DELETE' }),
  search: (query: string, k = 5) => requestJson<SearchHit[]>(`/api/rag/search?q=${encodeURIComponent(query)}&k=${k}`),
  uploadDocument,
  setDocumentVisibility: (id: string, visibility: DocumentVisibility) =>
    requestJson<RagDocument>(`/api/rag/documents/${encodeURIComponent(id)}`, { method: 'PATCH', ...jsonBody({ visibility }) }),
  getVisibilityNotice: () => requestJson<VisibilityNotice>('/api/rag/visibility-notice'),
  dismissVisibilityNotice: () => requestJson<void>('/api/rag/visibility-notice', { method: 'DELETE' }),

  getListener: (name: ListenerName) => requestJson<ListenerStatus>(`/api/listeners/${name}`),
  updateListener: (name: ListenerName, settings: ListenerSettings) =>
    requestJson<ListenerStatus>(`/api/listeners/${name}`, { method: 'PUT', ...jsonBody(settings) }),
  /** Restarts the listener with its saved settings; answers how it went. */
  applyListener: (name: ListenerName) => requestJson<ListenerStatus>(`/api/listeners/${name}/apply`, { method: 'POST' }),

  updateAdapter: (adapter: AdapterStatus) =>
    requestJson<AdapterStatus>('/api/adapter', { method: 'PUT', ...jsonBody(adapter) }),

  getEngineSettings: () => requestJson<EngineSettings>('/api/engine/settings'),
  updateEngineSettings: (changes: Partial<Record<EngineSettingsField, unknown>>) =>
    requestJson<EngineSettings>('/api/engine/settings', { method: 'PUT', ...jsonBody(changes) }),
  listModels: () => requestJson<ModelList>('/api/engine/models'),
  reloadEngine: () => requestJson<EngineReload>('/api/engine/reload', { method: 'POST' }),

  getGateway: () => requestJson<GatewayLink>('/api/gateway'),
  /** url (+ agent_token, or none to keep it), or the gateway's pairing string alone */
  updateGateway: (changes: { url: string; agent_token?: string } | { pairing: string }) =>
    requestJson<GatewayLink>('/api/gateway', { method: 'PUT', ...jsonBody(changes) }),

  getTelegram: () => requestJson<TelegramSettings>('/api/messengers/telegram'),
  updateTelegram: (changes: { enabled: boolean; bots: { token: string }[]; allowed_user_ids?: number[] }) =>
    requestJson<TelegramSettings>('/api/messengers/telegram', { method: 'PUT', ...jsonBody(changes) }),
}

/** Multipart upload with progress (fetch has no upload progress, XMLHttpRequest does). */
function uploadDocument(file: File, visibility: DocumentVisibility, onProgress: (fraction: number) => void): Promise<RagDocument> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest()
    xhr.open('POST', '/api/rag/documents')
    xhr.responseType = 'text'
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total)
    }
    xhr.onload = () => {
      let body: unknown = null
      try { body = JSON.parse(xhr.responseText) } catch { /* not JSON */ }
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(1)
        resolve(body as RagDocument)
      } else {
        reject(errorFromBody(xhr.status, xhr.statusText, body))
      }
    }
    xhr.onerror = () => reject(new ApiError(0, 'network error', 'network_error'))
    const form = new FormData()
    form.append('file', file)
    form.append('visibility', visibility)
    xhr.send(form)
  })
}
