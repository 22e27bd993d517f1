// The admin's test chat: streams from the agent's /api/chat/stream (SSE); Stop aborts the request,
// which the agent turns into a cancelled generation.
import { computed, ref } from 'vue'
import { defineStore } from 'pinia'
import { agentApi } from '@/api/agent'
import { messageKey, type ChatMessage } from '@/shared/types/chat'

export const useTestChatStore = defineStore('testChat', () => {
  const messages = ref<ChatMessage[]>([])
  const conversationId = ref<string | null>(null)
  let controller: AbortController | null = null
  const busy = computed(() => messages.value.some((m) => m.status === 'streaming'))

  async function send(text: string) {
    messages.value.push({ key: messageKey(), role: 'user', content: text, status: 'done', sources: [] })
    messages.value.push({ key: messageKey(), role: 'assistant', content: '', status: 'streaming', sources: [] })
    const answer = messages.value[messages.value.length - 1]
    controller = new AbortController()
    try {
      for await (const event of agentApi.streamChat(text, conversationId.value, controller.signal)) {
        if ('delta' in event) answer.content += event.delta
        else if ('sources' in event) answer.sources = event.sources
        else if ('done' in event) {
          conversationId.value = event.conversation_id
          answer.status = 'done'
        } else if ('error' in event) {
          answer.status = 'error'
          answer.error = event.error.message
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
  }

  function stop() {
    controller?.abort()
  }

  function clear() {
    stop()
    messages.value = []
    conversationId.value = null
  }

  return { messages, conversationId, busy, send, stop, clear }
})
