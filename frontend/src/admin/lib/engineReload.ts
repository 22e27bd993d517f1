// What an engine reload ("Apply now": POST /api/engine/reload) is doing, in the owner's words.
import type { EngineReload } from '@/api/agent'
import type { MessageKey } from '@/shared/i18n/en'

type Translate = (key: MessageKey, params?: Record<string, string | number>) => string

/** The reload's progress or outcome ('' when there is nothing to say). */
export function reloadMessage(reload: EngineReload | null, t: Translate): string {
  if (!reload) return ''
  if (reload.state === 'draining') return t('engineSettings.reloadDraining', { n: String(reload.running) })
  if (reload.state === 'loading') return t('engineSettings.reloadLoading')
  if (reload.state === 'done') return t('engineSettings.reloadDone')
  if (reload.state === 'failed') return t('engineSettings.reloadFailed', { error: reload.error ?? '' })
  return ''
}

export const isReloading = (reload: EngineReload | null) => reload?.state === 'draining' || reload?.state === 'loading'
