// Generated from local-inference/aiclone_agent/api/chat.py by
// `python scripts/typescript.py`: do not edit by hand (a test compares them).

export interface ErrorDetail {
  message: string
  type: string
  param: string | null
  code: string | null
  params: Record<string, unknown>
}

/** One remembered round, as every list and every answer's `memories` carries it. */
export interface MemoryRecord {
  id: string
  text: string
  at: string
  conversation_id?: string | null
  channel: string
  pinned?: boolean
  person?: string | null
}

/** A knowledge-base chunk the answer was given: `text[start:end]` of the document's extracted text. */
export interface Source {
  document_id: string
  document_name: string
  chunk_index: number
  start: number
  end: number
  text: string
}

// Events of the agent's POST /api/chat/stream, in order: sources, delta*, then done or error.

/** First: the passages the answer is given (empty without a knowledge base). */
export interface SourcesEvent {
  sources: Source[]
}

export interface DeltaEvent {
  delta: string
}

/** Last, when the answer is complete. */
export interface DoneEvent {
  done: true
  conversation_id: string
  finish_reason: string | null
  usage: Record<string, number>
  memories: MemoryRecord[]
}

/** Last, when the answer failed mid-way (the one error shape, as in every error response). */
export interface StreamErrorEvent {
  error: ErrorDetail
}

export type AgentChatEvent =
  | SourcesEvent
  | DeltaEvent
  | DoneEvent
  | StreamErrorEvent
