// The public chat: conversations, the open conversation's messages, and the gateway's frames
// applied to them. The transport (socket or SSE) is attached by useChatConnection.
import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import { gatewayApi, type ConversationSummary, type NetworkMode, type OutgoingMessage, type ServerFrame, type StoredMessage } from '@/api/gateway'
import { markUnanswered, messageKey, newId, type ChatMessage } from '@/shared/types/chat'
import { errorSentence } from '@/shared/i18n/errors'
import { useAuthStore } from './auth'

export interface ChatTransport {
  send(message: OutgoingMessage): void
  cancel(requestId: string | null, clientId: string): void
}

function fromStored(stored: StoredMessage): ChatMessage {
  return {
    key: stored.id,
    id: stored.id,
    role: stored.role,
    content: stored.content,
    status: stored.status,
    sources: stored.sources ?? [],
  }
}

/** The conversation open last, reopened when the chat is opened again (router). */
export const LAST_CONVERSATION_KEY = 'aiclone.chat.conversation'

export const useChatStore = defineStore('chat', () => {
  const auth = useAuthStore()
  const conversations = ref<ConversationSummary[]>([])
  const currentId = ref<string | null>(null)
  const messages = ref<ChatMessage[]>([])
  const agentOnline = ref<boolean | null>(null)
  // How the gateway reaches the clone right now (direct, relay, both: hybrid), for the status pill.
  const networkMode = ref<NetworkMode | null>(null)
  const cloneName = ref('AI Clone')
  const lastError = ref<string | null>(null)
  let transport: ChatTransport | null = null

  const active = computed(() => messages.value.find((m) => m.role === 'assistant' && m.status === 'streaming') ?? null)
  const busy = computed(() => active.value !== null)
  const hasPending = computed(() => messages.value.some((m) => m.status === 'pending'))

  function attach(next: ChatTransport | null) {
    transport = next
  }

  async function loadStatus() {
    const status = await gatewayApi.status()
    agentOnline.value = status.agent_online
    networkMode.value = status.network_mode ?? null
    cloneName.value = status.clone?.name || cloneName.value
    if (globalThis.document) document.title = cloneName.value // the tab says whose chat this is
  }

  async function loadConversations() {
    conversations.value = await auth.withAuth((token) => gatewayApi.conversations(token))
  }

  function remember(id: string | null) {
    if (id) globalThis.localStorage?.setItem(LAST_CONVERSATION_KEY, id)
    else globalThis.localStorage?.removeItem(LAST_CONVERSATION_KEY)
  }

  async function openConversation(id: string) {
    currentId.value = id
    const conversation = await auth.withAuth((token) => gatewayApi.conversation(token, id)).catch((cause: unknown) => {
      if (currentId.value === id) remember(null)
      throw cause
    })
    remember(id)
    if (currentId.value === id) messages.value = markUnanswered(conversation.messages.map(fromStored))
  }

  function startNew() {
    currentId.value = null
    messages.value = []
    remember(null)
  }

  function send(text: string) {
    if (!transport) throw new Error('chat is not connected')
    const clientId = newId()
    messages.value.push({ key: messageKey(), role: 'user', content: text, status: 'done', sources: [] })
    messages.value.push({ key: messageKey(), role: 'assistant', content: '', status: 'streaming', sources: [], clientId })
    lastError.value = null
    transport.send({ type: 'message', conversation_id: currentId.value, text, client_id: clientId })
  }

  /** Ask a failed answer's question again (e.g. a stream the clone's PC dropped mid-way): the
   *  failed pair leaves the view and the question is sent as a new turn of the conversation. */
  function retry(index: number) {
    const failed = messages.value[index]
    const question = messages.value[index - 1]
    if (failed?.role !== 'assistant' || failed.status !== 'error' || question?.role !== 'user' || busy.value) return
    messages.value.splice(index - 1, 2)
    send(question.content)
  }

  function stop() {
    const message = active.value
    if (!message) return
    message.status = 'stopped'
    transport?.cancel(message.requestId ?? null, message.clientId ?? '')
  }

  /** The assistant message a frame is about: by request id, else the oldest one not yet claimed. */
  function target(requestId?: string | null, clientId?: string | null): ChatMessage | undefined {
    const assistants = messages.value.filter((m) => m.role === 'assistant')
    return (
      (requestId ? assistants.find((m) => m.requestId === requestId) : undefined) ??
      (clientId ? assistants.find((m) => m.clientId === clientId) : undefined) ??
      assistants.find((m) => m.clientId && !m.requestId && (m.status === 'streaming' || m.status === 'stopped'))
    )
  }

  function adoptConversation(conversationId: string) {
    if (currentId.value === null) {
      currentId.value = conversationId
      remember(conversationId)
      void loadConversations().catch(() => undefined)
    }
  }

  function handleFrame(frame: ServerFrame) {
    switch (frame.type) {
      case 'status':
        // Coming back online may bring a renamed clone: refresh the name.
        if (frame.agent_online && agentOnline.value !== true) void loadStatus().catch(() => undefined)
        agentOnline.value = frame.agent_online
        networkMode.value = frame.network_mode ?? networkMode.value
        return
      case 'accepted': {
        const message = target(null, frame.client_id)
        if (!message) return
        message.requestId = frame.request_id
        message.id = frame.message_id
        adoptConversation(frame.conversation_id)
        return
      }
      case 'chunk': {
        const message = target(frame.request_id)
        if (message?.status === 'streaming') message.content += frame.delta
        return
      }
      case 'end': {
        const message = target(frame.request_id)
        if (!message) return
        if (message.status === 'streaming') message.status = frame.finish_reason === 'cancelled' ? 'stopped' : 'done'
        message.sources = frame.sources
        message.memories = frame.memories
        message.id = frame.message_id
        void loadConversations().catch(() => undefined)
        return
      }
      case 'error': {
        const message = target(frame.request_id ?? null)
        const sentence = errorSentence(frame.code, 500) // never the gateway's English text
        if (message && (message.status === 'streaming' || message.status === 'pending')) {
          message.status = 'error'
          message.error = sentence
          message.requestId = message.requestId ?? frame.request_id ?? undefined
        } else {
          lastError.value = sentence
        }
        return
      }
      case 'queued': {
        const message = target(frame.request_id ?? null)
        if (message) {
          message.status = 'pending'
          message.id = frame.message_id
          message.requestId = frame.request_id ?? message.requestId
        }
        agentOnline.value = false
        adoptConversation(frame.conversation_id)
        return
      }
      case 'answer': {
        if (frame.conversation_id !== currentId.value) return
        const message = messages.value.find((m) => m.id === frame.message_id)
        if (!message) {
          void openConversation(frame.conversation_id).catch(() => undefined)
          return
        }
        message.content = frame.content
        message.status = frame.status
        message.sources = frame.sources
        message.memories = frame.memories
        return
      }
    }
  }

  return {
    conversations, currentId, messages, agentOnline, networkMode, cloneName, lastError, busy, hasPending, retry,
    attach, loadStatus, loadConversations, openConversation, startNew, send, stop, handleFrame,
  }
})
