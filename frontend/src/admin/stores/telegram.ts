import { ref } from 'vue'
import { defineStore } from 'pinia'
import { ApiError } from '@/api/http'
import { agentApi, type TelegramSettings } from '@/api/agent'

export const useTelegramStore = defineStore('telegram', () => {
  const settings = ref<TelegramSettings | null>(null)
  const available = ref(true)
  const error = ref<string | null>(null)
  const saving = ref(false)

  function fail(cause: unknown) {
    if (cause instanceof ApiError && cause.status === 404) available.value = false
    else error.value = cause instanceof Error ? cause.message : String(cause)
  }

  async function load() {
    error.value = null
    try {
      settings.value = await agentApi.getTelegram()
      available.value = true
    } catch (cause) {
      fail(cause)
    }
  }

  /** An empty token keeps the bots as they are (their masked tokens tell the agent so); a new one replaces them. */
  async function save(enabled: boolean, token: string, allowedUserIds?: number[]) {
    saving.value = true
    error.value = null
    const bots = token.trim() ? [{ token: token.trim() }] : (settings.value?.bots ?? []).map((bot) => ({ token: bot.token }))
    try {
      const changes = allowedUserIds === undefined ? { enabled, bots } : { enabled, bots, allowed_user_ids: allowedUserIds }
      settings.value = await agentApi.updateTelegram(changes)
    } catch (cause) {
      fail(cause)
    } finally {
      saving.value = false
    }
  }

  return { settings, available, error, saving, load, save }
})
