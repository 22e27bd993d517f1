// What an engine reload ("Apply now": POST /api/engine/reload) is doing, in the owner's words.
import type { EngineReload } from '@/api/agent'
import { errorSentence } from '@/shared/i18n/errors'
import type { MessageKey } from '@/shared/i18n/en'

type Translate = (key: MessageKey, params?: Record<string, string | number>) => string

/** The reload's progress or outcome ('' when there is nothing to say). */
export function reloadMessage(reload: EngineReload | null, t: Translate): string {
  if (!reload) return ''
  if (reload.state === 'draining') return t('engineSettings.reloadDraining', { n: String(reload.running) })
  if (reload.state === 'loading') return t('engineSettings.reloadLoading')
  if (reload.state === 'done') return t('engineSettings.reloadDone')
  // the code's sentence, never the server's `error` (llama.cpp's or the file system's words)
  if (reload.state === 'failed') return t('engineSettings.reloadFailedBecause', { error: errorSentence(reload.error_code ?? 'engine_reload_failed', 500, reload.error_params ?? undefined) })
  return ''
}

export const isReloading = (reload: EngineReload | null) => reload?.state === 'draining' || reload?.state === 'loading'
