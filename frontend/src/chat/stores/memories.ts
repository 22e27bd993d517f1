// "What the clone remembers about me" (issue 24): the signed-in user's memories, which live on the
// owner's PC and are relayed by the gateway; search, erase one or all, switch memory off for me.
import { ref } from 'vue'
import { defineStore } from 'pinia'
import { gatewayApi } from '@/api/gateway'
import { ApiError } from '@/api/http'
import type { Memory } from '@/shared/types/chat'
import { useAuthStore } from './auth'

export const useMemoriesStore = defineStore('memories', () => {
  const auth = useAuthStore()
  const memories = ref<Memory[]>([])
  const enabled = ref(true)
  const query = ref('')
  const loaded = ref(false)
  /** The clone is offline: the memories cannot be read or erased until it is back. */
  const offline = ref(false)
  const error = ref<string | null>(null)

  /** The call's result wrapped (``null``: it failed, and ``offline`` or ``error`` says why). */
  async function run<T>(call: (token: string) => Promise<T>): Promise<{ value: T } | null> {
    error.value = null
    try {
      const value = await auth.withAuth(call)
      offline.value = false
      return { value }
    } catch (cause) {
      if (cause instanceof ApiError && cause.code === 'agent_offline') offline.value = true
      else error.value = cause instanceof Error ? cause.message : String(cause)
      return null
    }
  }

  async function load(search = query.value) {
    query.value = search
    const found = await run((token) => gatewayApi.myMemories(token, search.trim()))
    if (found) {
      memories.value = found.value.memories
      enabled.value = found.value.enabled
      loaded.value = true
    }
  }

  async function remove(id: string) {
    if (await run((token) => gatewayApi.deleteMyMemory(token, id))) {
      memories.value = memories.value.filter((m) => m.id !== id)
    }
  }

  /** How many were erased (``null``: nothing was). */
  async function removeAll(): Promise<number | null> {
    const result = await run(gatewayApi.deleteMyMemories)
    if (!result) return null
    memories.value = []
    return result.value.deleted
  }

  async function setEnabled(on: boolean) {
    const result = await run((token) => gatewayApi.setMyMemory(token, on))
    if (result) enabled.value = result.value.enabled
  }

  return { memories, enabled, query, loaded, offline, error, load, remove, removeAll, setEnabled }
})
