import { ref } from 'vue'
import { defineStore } from 'pinia'
import { ApiError } from '@/api/http'
import { agentApi, type GatewayLink } from '@/api/agent'

export const useGatewayStore = defineStore('gateway', () => {
  const link = ref<GatewayLink | null>(null)
  const available = ref(true)
  const error = ref<string | null>(null)
  const saving = ref(false)
  const networkMode = ref<string | null>(null)
  const savedAt = ref<number | null>(null)

  function fail(cause: unknown) {
    if (cause instanceof ApiError && cause.status === 404) available.value = false
    else if (cause instanceof ApiError && Object.keys(cause.fields).length) error.value = Object.values(cause.fields).join(' ')
    else error.value = cause instanceof Error ? cause.message : String(cause)
  }

  async function load() {
    error.value = null
    try {
      const [gateway, status] = await Promise.all([agentApi.getGateway(), agentApi.getStatus().catch(() => null)])
      link.value = gateway
      networkMode.value = gateway.mode ?? status?.network_mode ?? null
      available.value = true
    } catch (cause) {
      fail(cause)
    }
  }

  /** An empty token keeps the current one. */
  async function save(url: string, token: string) {
    saving.value = true
    error.value = null
    savedAt.value = null
    try {
      link.value = await agentApi.updateGateway(token.trim() ? { url: url.trim(), agent_token: token.trim() } : { url: url.trim() })
      savedAt.value = Date.now()
    } catch (cause) {
      fail(cause)
    } finally {
      saving.value = false
    }
  }

  /** Link with the pairing string the gateway showed (its address and a new agent token). */
  async function pair(pairing: string) {
    saving.value = true
    error.value = null
    savedAt.value = null
    try {
      link.value = await agentApi.updateGateway({ pairing: pairing.trim() })
      savedAt.value = Date.now()
      return true
    } catch (cause) {
      fail(cause)
      return false
    } finally {
      saving.value = false
    }
  }

  /** Drop the link and forget the address (the token stays for the next connect). */
  const disconnect = () => save('', '')

  return { link, available, error, saving, savedAt, networkMode, load, save, pair, disconnect }
})
