// Client for the public gateway: auth, status, conversations, chat tickets and the SSE fallback.
import { jsonBody, requestJson, errorFrom, fetchOrNetworkError } from './http'
import { readSseJson } from './sse'
import type { Memory, Source } from '@/shared/types/chat'
import type { MessageIn, ServerFrame, StatusFrame } from './chatFrames'

export type { ServerFrame } from './chatFrames'

export interface TokenPair { access_token: string; refresh_token: string; token_type: string; expires_in: number }
export interface User { id: string; email: string; role: string }
export type NetworkMode = StatusFrame['network_mode']
export interface PublicStatus { agent_online: boolean; network_mode?: NetworkMode; clone: { name: string | null } }
export interface ConversationSummary { id: string; title: string; updated_at: string }
export interface StoredMessage {
  id: string
  role: 'user' | 'assistant'
  content: string
  status: 'done' | 'pending' | 'error'
  created_at: string
  sources?: Source[]
}
export interface Conversation { id: string; title: string; messages: StoredMessage[] }
export type RegistrationMode = 'open' | 'invite' | 'closed'
/** ``password_min_length``: the gateway's password rule (it also refuses common passwords). */
export interface SignUpInfo { needs_owner: boolean; mode: RegistrationMode; needs_setup_code: boolean; password_min_length?: number }
export interface AccountUser extends User { created_at: number }
export interface ApiKey { id: string; name: string; prefix: string; created_at: number }
/** A pass for the agent's LAN listener at home (the token itself is shown once, at creation). */
export interface LanToken { id: string; name: string; created_at: number; expires_at: number }
/** What a linked agent serves: the base model, the adapter (name@scale, "" for none), hashes of its persona and documents. */
export interface AgentFingerprint { model: string; adapter: string; persona: string; documents: string }
/** An agent token, and while its agent (one of the clone's PCs) is linked: its network mode and load. */
export interface AgentToken {
  id: string
  name: string
  created_at: number
  linked: boolean
  mode?: string
  running?: number
  waiting?: number
  parallel?: number | null
  in_flight?: number
  tokens_per_s?: number | null
  rtt_ms?: number | null
  fingerprint?: AgentFingerprint | null
  replica?: string | null
}
export interface Invite { id: string; created_at: number; used_at: number | null; used_by: string | null }
/** What the clone remembers about the signed-in user (kept on the owner's PC, relayed). */
export interface MyMemories { memories: Memory[]; enabled: boolean }
export interface RegisterOptions { invite?: string; registration?: RegistrationMode; setup_code?: string }

// The chat frames both ways are generated from the gateway's models (./chatFrames.ts).
/** A question as this app sends it: always with its own id, which the `accepted` frame echoes. */
export type OutgoingMessage = MessageIn & { conversation_id: string | null; client_id: string }

const bearer = (token: string): HeadersInit => ({ Authorization: `Bearer ${token}` })
const withBearer = (token: string, body: unknown): RequestInit => ({
  body: JSON.stringify(body),
  headers: { ...bearer(token), 'Content-Type': 'application/json' },
})

export const gatewayApi = {
  register: (email: string, password: string, options: RegisterOptions = {}) =>
    requestJson<User>('/api/auth/register', { method: 'POST', ...jsonBody({ email, password, ...options }) }),
  signUpInfo: () => requestJson<SignUpInfo>('/api/auth/registration'),
  login: (email: string, password: string) =>
    requestJson<TokenPair>('/api/auth/login', { method: 'POST', ...jsonBody({ email, password }) }),
  refresh: (refreshToken: string) =>
    requestJson<TokenPair>('/api/auth/refresh', { method: 'POST', ...jsonBody({ refresh_token: refreshToken }) }),
  logout: (refreshToken: string) =>
    requestJson<void>('/api/auth/logout', { method: 'POST', ...jsonBody({ refresh_token: refreshToken }) }),
  me: (token: string) => requestJson<User>('/api/users/me', { headers: bearer(token) }),

  status: () => requestJson<PublicStatus>('/api/status'),

  // API keys (any signed-in user: their own keys)
  apiKeys: (token: string) => requestJson<ApiKey[]>('/api/keys', { headers: bearer(token) }),
  createApiKey: (token: string, name: string) =>
    requestJson<ApiKey & { key: string }>('/api/keys', { method: 'POST', ...withBearer(token, { name }) }),
  revokeApiKey: (token: string, id: string) =>
    requestJson<void>(`/api/keys/${encodeURIComponent(id)}`, { method: 'DELETE', headers: bearer(token) }),
  // LAN tokens (any signed-in user: to chat with the clone at home when the VDS is out of reach)
  /** where the clone answers at home, as the linked agent reported it (null: not known) */
  lanAddress: (token: string) => requestJson<{ url: string | null }>('/api/lan-tokens/address', { headers: bearer(token) }),
  lanTokens: (token: string) => requestJson<LanToken[]>('/api/lan-tokens', { headers: bearer(token) }),
  createLanToken: (token: string, name: string) =>
    requestJson<LanToken & { token: string }>('/api/lan-tokens', { method: 'POST', ...withBearer(token, { name }) }),
  revokeLanToken: (token: string, id: string) =>
    requestJson<void>(`/api/lan-tokens/${encodeURIComponent(id)}`, { method: 'DELETE', headers: bearer(token) }),
  // The owner's pages
  agentTokens: (token: string) => requestJson<AgentToken[]>('/api/agents', { headers: bearer(token) }),
  createAgentToken: (token: string, name: string) =>
    requestJson<AgentToken & { token: string; pairing: string }>('/api/agents', { method: 'POST', ...withBearer(token, { name }) }),
  revokeAgentToken: (token: string, id: string) =>
    requestJson<void>(`/api/agents/${encodeURIComponent(id)}`, { method: 'DELETE', headers: bearer(token) }),
  users: (token: string) => requestJson<AccountUser[]>('/api/admin/users', { headers: bearer(token) }),
  setUserRole: (token: string, id: string, role: 'user' | 'blocked') =>
    requestJson<AccountUser>(`/api/admin/users/${encodeURIComponent(id)}`, { method: 'PATCH', ...withBearer(token, { role }) }),
  deleteUser: (token: string, id: string) =>
    requestJson<void>(`/api/admin/users/${encodeURIComponent(id)}`, { method: 'DELETE', headers: bearer(token) }),
  registration: (token: string) => requestJson<{ mode: RegistrationMode }>('/api/admin/registration', { headers: bearer(token) }),
  setRegistration: (token: string, mode: RegistrationMode) =>
    requestJson<{ mode: RegistrationMode }>('/api/admin/registration', { method: 'PUT', ...withBearer(token, { mode }) }),
  invites: (token: string) => requestJson<Invite[]>('/api/admin/invites', { headers: bearer(token) }),
  createInvite: (token: string) =>
    requestJson<Invite & { code: string; url: string }>('/api/admin/invites', { method: 'POST', headers: bearer(token) }),
  revokeInvite: (token: string, id: string) =>
    requestJson<void>(`/api/admin/invites/${encodeURIComponent(id)}`, { method: 'DELETE', headers: bearer(token) }),
  // What the clone remembers about me (issue 24): relayed to the agent; 503 agent_offline when it is away
  myMemories: (token: string, query = '') =>
    requestJson<MyMemories>(`/api/me/memories${query ? `?q=${encodeURIComponent(query)}` : ''}`, { headers: bearer(token) }),
  deleteMyMemory: (token: string, id: string) =>
    requestJson<void>(`/api/me/memories/${encodeURIComponent(id)}`, { method: 'DELETE', headers: bearer(token) }),
  deleteMyMemories: (token: string) =>
    requestJson<{ deleted: number }>('/api/me/memories', { method: 'DELETE', headers: bearer(token) }),
  setMyMemory: (token: string, enabled: boolean) =>
    requestJson<{ enabled: boolean }>('/api/me/memory-settings', { method: 'PUT', ...withBearer(token, { enabled }) }),
  conversations: (token: string) => requestJson<ConversationSummary[]>('/api/conversations', { headers: bearer(token) }),
  conversation: (token: string, id: string) =>
    requestJson<Conversation>(`/api/conversations/${encodeURIComponent(id)}`, { headers: bearer(token) }),
  ticket: (token: string) =>
    requestJson<{ ticket: string; expires_in: number }>('/api/chat/ticket', { method: 'POST', headers: bearer(token) }),

  /** SSE fallback: the same frames as the socket, for one question. */
  async *stream(token: string, body: Omit<MessageIn, 'type'>, signal: AbortSignal): AsyncGenerator<ServerFrame> {
    const response = await fetchOrNetworkError('/api/chat/stream', {
      method: 'POST',
      signal,
      body: JSON.stringify(body),
      headers: { ...bearer(token), 'Content-Type': 'application/json' },
    })
    if (!response.ok || !response.body) throw await errorFrom(response)
    for await (const frame of readSseJson(response.body, signal)) yield frame as ServerFrame
  },
}

export function chatSocketUrl(ticket: string, location: Location = window.location): string {
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws'
  return `${scheme}://${location.host}/ws/chat?ticket=${encodeURIComponent(ticket)}`
}
