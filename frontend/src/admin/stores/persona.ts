import { ref } from 'vue'
import { defineStore } from 'pinia'
import { agentApi, type Clone } from '@/api/agent'

export const usePersonaStore = defineStore('persona', () => {
  const clone = ref<Clone | null>(null)
  const saving = ref(false)
  const error = ref<string | null>(null)
  const savedAt = ref<number | null>(null)

  async function load() {
    error.value = null
    try {
      clone.value = await agentApi.getClone()
    } catch (cause) {
      error.value = (cause as Error).message
    }
  }

  async function save(changes: { name: string; system_prompt: string }) {
    saving.value = true
    error.value = null
    try {
      clone.value = await agentApi.updateClone(changes)
      savedAt.value = Date.now()
    } catch (cause) {
      error.value = (cause as Error).message
    } finally {
      saving.value = false
    }
  }

  return { clone, saving, error, savedAt, load, save }
})
