import { ref } from 'vue'
import { defineStore } from 'pinia'
import { agentApi, type AgentStatus } from '@/api/agent'
import { summarizeMetrics, type MetricsGlance } from '../lib/prometheus'

export const useStatusStore = defineStore('status', () => {
  const status = ref<AgentStatus | null>(null)
  const metrics = ref<MetricsGlance | null>(null)
  const error = ref<string | null>(null)

  async function load() {
    error.value = null
    const [statusResult, metricsResult] = await Promise.allSettled([agentApi.getStatus(), agentApi.getMetrics()])
    if (statusResult.status === 'fulfilled') status.value = statusResult.value
    else error.value = (statusResult.reason as Error).message
    if (metricsResult.status === 'fulfilled') metrics.value = summarizeMetrics(metricsResult.value)
  }

  return { status, metrics, error, load }
})
