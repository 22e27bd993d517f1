// The message shape both chats (public and the admin's test chat) render.

export interface Source {
  document_id: string
  document_name: string
  chunk_index: number
  /** Character offsets of the passage in the document's text (null or absent: not known). */
  start?: number | null
  end?: number | null
  /** The cited passage itself (agents from this version on send it). */
  text?: string
}

/** A round the clone remembered about the asker (issue 24): what was said, and when. */
export interface Memory {
  id: string
  /** The round as kept: "Q: …\nA: …". */
  text: string
  /** When it was said (ISO 8601, UTC). */
  at: string
  conversation_id?: string | null
  channel: string
  pinned?: boolean
  /** Whose it is: only the owner's admin views carry it. */
  person?: string | null
}

/** ``unanswered``: a stored question with no answer after it (the page was reloaded before the
 * first token, or the answer was lost): shown as a marker the asker can regenerate. */
export type MessageStatus = 'streaming' | 'done' | 'pending' | 'error' | 'stopped' | 'unanswered'

export interface ChatMessage {
  key: string
  role: 'user' | 'assistant'
  content: string
  status: MessageStatus
  sources: Source[]
  /** The asker's own memories the clone was given for this answer. */
  memories?: Memory[]
  id?: string
  clientId?: string
  requestId?: string
  error?: string
}

let counter = 0
export function messageKey(): string {
  counter += 1
  return `m${Date.now().toString(36)}-${counter}`
}

/** A conversation as stored, with a ``no answer`` marker after a last question nobody answered. */
export function markUnanswered(messages: ChatMessage[]): ChatMessage[] {
  const last = messages[messages.length - 1]
  if (last?.role !== 'user') return messages
  return [...messages, { key: messageKey(), role: 'assistant', content: '', status: 'unanswered', sources: [] }]
}

export function newId(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID()
  return `${Date.now().toString(16)}-${Math.random().toString(16).slice(2)}`
}
