import { ref } from 'vue'
import { defineStore } from 'pinia'
import { agentApi, type EngineReload, type EngineSettings, type ModelList } from '@/api/agent'
import { ApiError } from '@/api/http'
import { changesFrom, type EngineDraft } from '../lib/engineForm'

export const useEngineSettingsStore = defineStore('engineSettings', () => {
  const settings = ref<EngineSettings | null>(null)
  const models = ref<ModelList | null>(null)
  const saving = ref(false)
  const savedAt = ref<number | null>(null)
  /** The agent's word on each refused field (shown under that field). */
  const fieldErrors = ref<Record<string, string>>({})
  const error = ref<string | null>(null)
  const modelError = ref<string | null>(null)
  /** The last "Apply now" (``POST /api/engine/reload``) as the agent reports it. */
  const reload = ref<EngineReload | null>(null)

  async function load() {
    error.value = null
    const [settingsResult, modelsResult] = await Promise.allSettled([agentApi.getEngineSettings(), agentApi.listModels()])
    if (settingsResult.status === 'fulfilled') settings.value = settingsResult.value
    else error.value = (settingsResult.reason as Error).message
    if (modelsResult.status === 'fulfilled') models.value = modelsResult.value
    else modelError.value = (modelsResult.reason as Error).message
  }

  function refused(cause: unknown): string | null {
    const fields = cause instanceof ApiError ? cause.fields : {}
    fieldErrors.value = fields
    return Object.keys(fields).length ? null : (cause as Error).message
  }

  /** Saves what changed in the form; refused fields keep the owner's input and get their message. */
  async function save(draft: EngineDraft) {
    if (!settings.value) return
    saving.value = true
    error.value = null
    fieldErrors.value = {}
    try {
      const changes = changesFrom(draft, settings.value)
      if (Object.keys(changes).length) settings.value = await agentApi.updateEngineSettings(changes)
      savedAt.value = Date.now()
    } catch (cause) {
      savedAt.value = null
      error.value = refused(cause)
    } finally {
      saving.value = false
    }
  }

  /** Chooses the model the agent loads on its next start ('' = the first GGUF in models/base/). */
  async function pickModel(path: string) {
    modelError.value = null
    try {
      settings.value = await agentApi.updateEngineSettings({ base_model_path: path })
      models.value = await agentApi.listModels()
    } catch (cause) {
      modelError.value = cause instanceof ApiError ? (cause.fields.base_model_path ?? cause.message) : (cause as Error).message
    }
  }

  /** Reloads the engine with the saved settings, following its progress until it has settled. */
  async function applyNow(pollMs = 500) {
    error.value = null
    const settling = (r: EngineReload) => r.state === 'draining' || r.state === 'loading'
    try {
      let current = await agentApi.reloadEngine()
      reload.value = current
      while (settling(current)) {
        await new Promise((resolve) => setTimeout(resolve, pollMs))
        const next = (await agentApi.getStatus()).engine_reload
        if (!next) return
        if (!settling(next)) await load() // the outcome shows with the settings it left
        reload.value = current = next
      }
    } catch (cause) {
      error.value = (cause as Error).message
    }
  }

  return { settings, models, saving, savedAt, fieldErrors, error, modelError, reload, load, save, pickModel, applyNow }
})
