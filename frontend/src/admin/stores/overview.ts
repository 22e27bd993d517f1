import { ref } from 'vue'
import { defineStore } from 'pinia'
import { agentApi } from '@/api/agent'
import type { OverviewResponse } from '@/api/agentOverview'

export const useOverviewStore = defineStore('overview', () => {
  const overview = ref<OverviewResponse | null>(null)
  const error = ref<string | null>(null)

  async function load() {
    try {
      overview.value = await agentApi.getOverview()
      error.value = null
    } catch (caught) {
      error.value = (caught as Error).message // the last charts stay on screen
    }
  }

  return { overview, error, load }
})
