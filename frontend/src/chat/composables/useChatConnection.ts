// Keeps the chat connected: a WebSocket (ticket from /api/chat/ticket) with capped, jittered
// reconnects; when sockets cannot be opened at all, falls back to SSE (POST /api/chat/stream)
// and polls the clone's status so queued answers still show up.
import { onBeforeUnmount, onMounted, ref } from 'vue'
import { chatSocketUrl, gatewayApi, type OutgoingMessage, type ServerFrame } from '@/api/gateway'
import { ApiError } from '@/api/http'
import { useAuthStore } from '../stores/auth'
import { useChatStore, type ChatTransport } from '../stores/chat'

export type ConnectionState = 'connecting' | 'open' | 'sse' | 'closed'

const MAX_BACKOFF_MS = 15_000
// The gateway's own close codes: the owner blocked or deleted this account (never reconnect).
export const CLOSE_ACCOUNT: Record<number, 'blocked' | 'deleted'> = { 4403: 'blocked', 4410: 'deleted' }
const FAILED_OPENS_BEFORE_SSE = 2
const SSE_POLL_MS = 5_000

export function backoffDelay(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** attempt)
  return Math.round(base / 2 + (random() * base) / 2)
}

export function useChatConnection() {
  const auth = useAuthStore()
  const chat = useChatStore()
  const state = ref<ConnectionState>('connecting')
  let socket: WebSocket | null = null
  let outbox: OutgoingMessage[] = []
  let attempt = 0
  let everOpened = false
  let failedOpens = 0
  let stopped = false
  let retryTimer: ReturnType<typeof setTimeout> | undefined
  let pollTimer: ReturnType<typeof setInterval> | undefined
  const sseRequests = new Map<string, AbortController>()

  const socketTransport: ChatTransport = {
    send(message) {
      if (socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message))
      else outbox.push(message)
    },
    cancel(requestId, clientId) {
      if (requestId && socket?.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: 'cancel', request_id: requestId }))
      else outbox = outbox.filter((m) => m.client_id !== clientId)
    },
  }

  const sseTransport: ChatTransport = {
    send(message) {
      const controller = new AbortController()
      sseRequests.set(message.client_id, controller)
      void (async () => {
        try {
          const token = await auth.withAuth(async (accessToken) => accessToken)
          const body = { conversation_id: message.conversation_id, text: message.text }
          for await (const frame of gatewayApi.stream(token, body, controller.signal)) {
            chat.handleFrame(frame.type === 'accepted' ? { ...frame, client_id: message.client_id } : frame)
          }
        } catch (error) {
          if (!controller.signal.aborted) {
            const code = error instanceof ApiError && error.code ? error.code : 'network_error'
            chat.handleFrame({ type: 'error', request_id: null, code, message: String(error), retry_after: null })
          }
        } finally {
          sseRequests.delete(message.client_id)
        }
      })()
    },
    cancel(_requestId, clientId) {
      sseRequests.get(clientId)?.abort()
    },
  }

  async function openSocket() {
    if (stopped) return
    state.value = 'connecting'
    let ticket: string
    try {
      ticket = (await auth.withAuth((token) => gatewayApi.ticket(token))).ticket
    } catch {
      if (!auth.isAuthenticated) return close()
      return scheduleReconnect()
    }
    const ws = new WebSocket(chatSocketUrl(ticket))
    socket = ws
    ws.onopen = () => {
      everOpened = true
      attempt = 0
      failedOpens = 0
      state.value = 'open'
      const queued = outbox
      outbox = []
      for (const message of queued) ws.send(JSON.stringify(message))
      // A reconnect may have missed answers: reload what is on screen.
      if (chat.currentId) void chat.openConversation(chat.currentId).catch(() => undefined)
    }
    ws.onmessage = (event) => {
      try {
        chat.handleFrame(JSON.parse(String(event.data)) as ServerFrame)
      } catch {
        // ignore frames that are not JSON
      }
    }
    ws.onclose = (event: CloseEvent) => {
      if (socket !== ws) return
      socket = null
      if (stopped) return
      const ended = CLOSE_ACCOUNT[event.code]
      if (ended) {
        close()
        auth.endAccount(ended)
        return
      }
      if (state.value !== 'open') failedOpens += 1
      if (!everOpened && failedOpens >= FAILED_OPENS_BEFORE_SSE) return useSse()
      scheduleReconnect()
    }
  }

  function scheduleReconnect() {
    if (stopped) return
    state.value = 'connecting'
    clearTimeout(retryTimer)
    retryTimer = setTimeout(() => void openSocket(), backoffDelay(attempt))
    attempt += 1
  }

  function useSse() {
    state.value = 'sse'
    chat.attach(sseTransport)
    for (const message of outbox) sseTransport.send(message)
    outbox = []
    pollTimer = setInterval(async () => {
      await chat.loadStatus().catch(() => undefined)
      if (chat.agentOnline && chat.hasPending && chat.currentId) {
        await chat.openConversation(chat.currentId).catch(() => undefined)
      }
    }, SSE_POLL_MS)
  }

  function close() {
    stopped = true
    state.value = 'closed'
    clearTimeout(retryTimer)
    clearInterval(pollTimer)
    for (const controller of sseRequests.values()) controller.abort()
    socket?.close()
    socket = null
    chat.attach(null)
  }

  onMounted(() => {
    chat.attach(socketTransport)
    void openSocket()
  })
  onBeforeUnmount(close)

  return { state, close }
}
