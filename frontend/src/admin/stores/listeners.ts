// The LAN listener and the direct path: their saved settings, and Apply (an in-process restart with
// them) with its progress and, when it cannot listen, the agent's reason.
import { ref } from 'vue'
import { defineStore } from 'pinia'
import { agentApi, type ListenerName, type ListenerSettings, type ListenerStatus } from '@/api/agent'
import { ApiError } from '@/api/http'

export const useListenersStore = defineStore('listeners', () => {
  const listeners = ref<Partial<Record<ListenerName, ListenerStatus>>>({})
  const busy = ref<Partial<Record<ListenerName, 'saving' | 'applying'>>>({})
  const errors = ref<Partial<Record<ListenerName, string>>>({})
  /** The agent's word on each refused field, per listener. */
  const fieldErrors = ref<Partial<Record<ListenerName, Record<string, string>>>>({})

  async function run(name: ListenerName, what: 'saving' | 'applying', call: () => Promise<ListenerStatus>) {
    busy.value[name] = what
    errors.value[name] = undefined
    fieldErrors.value[name] = {}
    try {
      listeners.value[name] = await call()
    } catch (cause) {
      const fields = cause instanceof ApiError ? cause.fields : {}
      fieldErrors.value[name] = fields
      errors.value[name] = (cause as Error).message
    } finally {
      busy.value[name] = undefined
    }
  }

  async function load() {
    await Promise.all((['lan', 'direct'] as const).map((name) => run(name, 'saving', () => agentApi.getListener(name))))
  }

  const save = (name: ListenerName, settings: ListenerSettings) => run(name, 'saving', () => agentApi.updateListener(name, settings))
  const apply = (name: ListenerName) => run(name, 'applying', () => agentApi.applyListener(name))

  return { listeners, busy, errors, fieldErrors, load, save, apply }
})
