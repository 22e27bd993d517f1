// Generated from backend/aiclone_gateway/chat/protocol.py by
// `python scripts/typescript.py`: do not edit by hand (a test compares them).

/** One of the asker's own memories the clone was given for this answer (a round kept from an earlier conversation: `at` is when it was said). */
export interface Memory {
  id: string
  text: string
  at: string
  conversation_id: string | null
  channel: string
  pinned: boolean
}

/** A knowledge-base passage an answer cites: `text` is `[start:end]` of the document's text. Built from what the agent's `End` frame carries; keys a newer agent adds are dropped, and an older agent's missing offsets or text travel as `null` / `""`. */
export interface Source {
  document_id: string
  document_name: string
  chunk_index: number
  start: number | null
  end: number | null
  text: string
}

export interface Usage {
  prompt_tokens: number
  completion_tokens: number
  total_tokens: number
}

// Frames the gateway sends over /ws/chat (and as SSE data on POST /api/chat/stream).

/** Whether the clone is reachable and how (sent on connect and whenever it changes). */
export interface StatusFrame {
  type: 'status'
  agent_online: boolean
  network_mode: 'direct' | 'relay' | 'hybrid' | 'offline'
}

/** The question is stored and being answered; `client_id` echoes the message's own id. */
export interface AcceptedFrame {
  type: 'accepted'
  request_id: string
  conversation_id: string
  client_id: string | null
  message_id: string
}

export interface ChunkFrame {
  type: 'chunk'
  request_id: string
  delta: string
}

/** The answer is complete (`finish_reason` `cancelled` when the user stopped it). */
export interface EndFrame {
  type: 'end'
  request_id: string
  finish_reason: string
  usage: Usage
  message_id: string
  sources: Source[]
  memories: Memory[]
}

/** A question refused or failed; `request_id` is null for a frame the gateway could not read. */
export interface ErrorFrame {
  type: 'error'
  request_id: string | null
  code: string
  message: string
  retry_after: number | null
}

/** The clone is offline: the question is stored and answered (an `answer` frame) when it is back. */
export interface QueuedFrame {
  type: 'queued'
  request_id: string
  conversation_id: string
  message_id: string
  message: string
}

/** A queued question's answer, pushed to the asker's open sockets. */
export interface AnswerFrame {
  type: 'answer'
  conversation_id: string
  message_id: string
  content: string
  status: 'done' | 'error'
  sources: Source[]
  memories: Memory[]
}

export type ServerFrame =
  | StatusFrame
  | AcceptedFrame
  | ChunkFrame
  | EndFrame
  | ErrorFrame
  | QueuedFrame
  | AnswerFrame

// Frames the browser sends over /ws/chat (POST /api/chat/stream takes one MessageIn).

export interface MessageIn {
  type: 'message'
  conversation_id?: string | null
  text: string
  client_id?: string | null
}

export interface CancelIn {
  type: 'cancel'
  request_id: string
}

export type ClientFrame =
  | MessageIn
  | CancelIn
