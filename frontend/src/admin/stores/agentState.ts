// The agent's /api/status for the header badge and the home checklist, polled while the page is seen.
import { ref } from 'vue'
import { defineStore } from 'pinia'
import { agentApi, type AgentStatus } from '@/api/agent'

export const useAgentStateStore = defineStore('agentState', () => {
  const status = ref<AgentStatus | null>(null)
  const failed = ref(false)

  async function load() {
    try {
      status.value = await agentApi.getStatus()
      failed.value = false
    } catch {
      failed.value = true
    }
  }

  return { status, failed, load }
})
