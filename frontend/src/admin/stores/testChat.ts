// The admin's test chat: conversations stored by the agent (list, search, open, rename, delete),
// the open one in the address (/chat/<id>) and remembered for the next visit (router: /chat reopens
// it); a last question with no answer shows a marker to regenerate; answers stream from
// /api/chat/stream (SSE), as the owner or previewing another channel's persona. Stop aborts
// the request (the agent cancels the generation); regenerate and edit-and-resend cut the stored
// conversation after the question and ask again.
import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import { agentApi, type AgentConversation, type AgentStoredMessage, type ChannelName } from '@/api/agent'
import { markUnanswered, messageKey, type ChatMessage } from '@/shared/types/chat'
import { errorSentence } from '@/shared/i18n/errors'

export const CURRENT_KEY = 'aiclone.admin.conversation'

function fromStored(message: AgentStoredMessage): ChatMessage {
  return {
    key: messageKey(),
    role: message.role,
    content: message.content,
    // stopped by the owner, or cut when the agent stopped mid-answer: both show as stopped
    status: message.finish_reason === 'abort' || message.finish_reason === 'interrupted' ? 'stopped' : 'done',
    sources: message.sources ?? [],
  }
}

export const useTestChatStore = defineStore('testChat', () => {
  const messages = ref<ChatMessage[]>([])
  const conversationId = ref<string | null>(null)
  const conversations = ref<AgentConversation[]>([])
  const query = ref('')
  const error = ref<string | null>(null)
  // "Preview as channel": whose persona answers (null: the owner's own test-chat persona)
  const previewChannel = ref<ChannelName | null>(null)
  let controller: AbortController | null = null
  const busy = computed(() => messages.value.some((m) => m.status === 'streaming'))

  function remember(id: string | null) {
    conversationId.value = id
    if (id) globalThis.localStorage?.setItem(CURRENT_KEY, id)
    else globalThis.localStorage?.removeItem(CURRENT_KEY)
  }

  async function guarded(call: () => Promise<void>) {
    error.value = null
    try {
      await call()
    } catch (cause) {
      error.value = cause instanceof Error ? cause.message : String(cause)
    }
  }

  async function loadConversations() {
    await guarded(async () => {
      conversations.value = await agentApi.listConversations(query.value.trim())
    })
  }

  async function search(text: string) {
    query.value = text
    await loadConversations()
  }

  async function open(id: string) {
    stop()
    try {
      const detail = await agentApi.getConversation(id)
      messages.value = markUnanswered(detail.messages.map(fromStored))
      remember(detail.id)
    } catch {
      // deleted meanwhile (or another agent's data): start fresh
      messages.value = []
      remember(null)
    }
  }

  /** The page's conversation: the one in the address (``id``), or a fresh one. */
  async function show(id: string | null) {
    if (id === null) {
      if (conversationId.value !== null) startNew()
    } else if (id !== conversationId.value || messages.value.length === 0) await open(id)
  }

  async function rename(id: string, title: string) {
    await guarded(async () => {
      await agentApi.renameConversation(id, title)
    })
    await loadConversations()
  }

  async function remove(id: string) {
    await guarded(async () => {
      await agentApi.deleteConversation(id)
      if (conversationId.value === id) startNew()
    })
    await loadConversations()
  }

  async function send(text: string) {
    messages.value.push({ key: messageKey(), role: 'user', content: text, status: 'done', sources: [] })
    messages.value.push({ key: messageKey(), role: 'assistant', content: '', status: 'streaming', sources: [] })
    const answer = messages.value[messages.value.length - 1]
    controller = new AbortController()
    const isNew = conversationId.value === null
    try {
      for await (const event of agentApi.streamChat(text, conversationId.value, controller.signal, previewChannel.value)) {
        if ('delta' in event) answer.content += event.delta
        else if ('sources' in event) answer.sources = event.sources
        else if ('done' in event) {
          remember(event.conversation_id)
          answer.status = 'done'
          answer.memories = event.memories ?? [] // the owner's own memories the answer was given
        } else if ('error' in event) {
          answer.status = 'error'
          answer.error = errorSentence(event.error.code, 500, event.error.params)
        }
      }
      if (answer.status === 'streaming') answer.status = 'done'
    } catch (cause) {
      if (controller.signal.aborted) answer.status = 'stopped'
      else {
        answer.status = 'error'
        answer.error = cause instanceof Error ? cause.message : String(cause)
      }
    } finally {
      controller = null
    }
    if (isNew || conversationId.value) await loadConversations()
  }

  /** Ask the question at ``index`` again (``text``: edited), forgetting everything after it. */
  async function resend(index: number, text: string) {
    if (busy.value || messages.value[index]?.role !== 'user') return
    if (conversationId.value) {
      const id = conversationId.value
      await guarded(() => agentApi.truncateConversation(id, index))
      if (error.value) return
    }
    messages.value = messages.value.slice(0, index)
    await send(text)
  }

  /** A new answer to the question before the assistant message at ``index``. */
  async function regenerate(index: number) {
    const question = messages.value[index - 1]
    if (question?.role === 'user') await resend(index - 1, question.content)
  }

  function stop() {
    controller?.abort()
  }

  function startNew() {
    stop()
    messages.value = []
    remember(null)
  }

  return {
    messages, conversationId, conversations, query, error, busy, previewChannel,
    loadConversations, search, open, show, rename, remove, send, resend, regenerate, stop, startNew,
    clear: startNew,
  }
})
