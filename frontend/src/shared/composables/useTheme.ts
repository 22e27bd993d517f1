// Light, dark or auto (the system's choice) for the whole page, kept in localStorage.
import { ref } from 'vue'

export type Theme = 'auto' | 'light' | 'dark'
export const THEMES: readonly Theme[] = ['auto', 'light', 'dark']
const STORAGE_KEY = 'aiclone.theme'

function saved(): Theme {
  const value = globalThis.localStorage?.getItem(STORAGE_KEY)
  return value === 'light' || value === 'dark' ? value : 'auto'
}

function apply(theme: Theme) {
  const root = globalThis.document?.documentElement
  if (!root) return
  if (theme === 'auto') delete root.dataset.theme
  else root.dataset.theme = theme
}

const theme = ref<Theme>(saved())
apply(theme.value)

export function useTheme() {
  function setTheme(next: Theme) {
    theme.value = next
    if (next === 'auto') globalThis.localStorage?.removeItem(STORAGE_KEY)
    else globalThis.localStorage?.setItem(STORAGE_KEY, next)
    apply(next)
  }
  return { theme, setTheme }
}
