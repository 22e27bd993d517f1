// Asks before unsaved edits are thrown away: leaving the page in the app (router) or closing or
// reloading the tab (the browser's own prompt).
import { onBeforeUnmount, onMounted } from 'vue'
import { onBeforeRouteLeave } from 'vue-router'
import { useI18n } from '@/shared/composables/useI18n'

export function useUnsavedGuard(dirty: () => boolean) {
  const { t } = useI18n()
  const onUnload = (event: BeforeUnloadEvent) => {
    if (dirty()) event.preventDefault()
  }
  onBeforeRouteLeave(() => !dirty() || globalThis.confirm(t('chatux.unsavedLeave')))
  onMounted(() => globalThis.addEventListener('beforeunload', onUnload))
  onBeforeUnmount(() => globalThis.removeEventListener('beforeunload', onUnload))
}
