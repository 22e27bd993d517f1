// The Engine page's settings form: what its inputs hold, and the PUT body for what changed.
import type { EngineSettings, EngineSettingsField } from '@/api/agent'

/** Apply to the next request. */
export const LIVE_FIELDS = ['temperature', 'top_p', 'max_tokens'] as const
/** Shape the loaded model: saved now, used after a restart (base_model_path has its own picker). */
export const RESTART_FIELDS = ['n_ctx', 'n_threads', 'n_gpu_layers', 'parallel'] as const

export type FormField = (typeof LIVE_FIELDS)[number] | (typeof RESTART_FIELDS)[number]
/** Inputs hold numbers, or text while it is not one ('' when empty, 'auto' for GPU layers). */
export type EngineDraft = Record<FormField, number | string>

const FIELDS: readonly FormField[] = [...LIVE_FIELDS, ...RESTART_FIELDS]

export function draftFrom(settings: EngineSettings): EngineDraft {
  return Object.fromEntries(FIELDS.map((field) => [field, settings[field]])) as EngineDraft
}

/** The value to send: a number when the text is one, 'auto' for GPU layers; anything else is
 * sent as typed so that the agent's validation names the problem. */
export function valueOf(field: FormField, raw: number | string): number | string {
  if (typeof raw === 'number') return raw
  const text = raw.trim()
  if (field === 'n_gpu_layers' && text.toLowerCase() === 'auto') return 'auto'
  const number = Number(text)
  return text !== '' && Number.isFinite(number) ? number : text
}

/** Only the fields whose value differs from the saved settings. */
export function changesFrom(draft: EngineDraft, saved: EngineSettings): Partial<Record<EngineSettingsField, unknown>> {
  const changes: Partial<Record<EngineSettingsField, unknown>> = {}
  for (const field of FIELDS) {
    const value = valueOf(field, draft[field])
    if (value !== saved[field]) changes[field] = value
  }
  return changes
}
