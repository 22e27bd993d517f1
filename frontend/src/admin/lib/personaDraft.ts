// Whether the persona editor holds edits the agent has not saved: what the unsaved-changes guard
// and the "Saved" note ask.
import type { ChannelProfile, Clone } from '@/api/agent'

export function personaChanged(saved: Clone | null, name: string, systemPrompt: string): boolean {
  return saved !== null && (saved.name !== name || saved.system_prompt !== systemPrompt)
}

/** A channel profile's draft against the saved one (the documents' order does not matter). */
export function profileChanged(saved: ChannelProfile | undefined | null, draft: ChannelProfile | null): boolean {
  if (!saved || !draft) return false
  const sameDocuments = saved.documents.length === draft.documents.length && saved.documents.every((d) => draft.documents.includes(d))
  return (
    saved.system_prompt_extra !== draft.system_prompt_extra ||
    saved.max_tokens !== draft.max_tokens ||
    saved.adapter_scale !== draft.adapter_scale ||
    saved.knowledge !== draft.knowledge ||
    saved.memory !== draft.memory ||
    !sameDocuments
  )
}
