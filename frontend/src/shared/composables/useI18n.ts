// A small i18n: English and Russian dictionaries, the choice kept in localStorage.
import { computed, ref } from 'vue'
import { en, type MessageKey } from '../i18n/en'
import { ru } from '../i18n/ru'

export type Locale = 'en' | 'ru'
export const LOCALES: readonly Locale[] = ['en', 'ru']
const DICTIONARIES: Record<Locale, Record<MessageKey, string>> = { en, ru }
const STORAGE_KEY = 'aiclone.locale'

function initialLocale(): Locale {
  const saved = globalThis.localStorage?.getItem(STORAGE_KEY)
  if (saved === 'en' || saved === 'ru') return saved
  return globalThis.navigator?.language?.toLowerCase().startsWith('ru') ? 'ru' : 'en'
}

// One locale for the whole page, shared by every component that calls useI18n().
const locale = ref<Locale>(initialLocale())
if (globalThis.document) document.documentElement.lang = locale.value

/** The page's language now (reactive when read during a render). */
export function currentLocale(): Locale {
  return locale.value
}

export function translate(current: Locale, key: MessageKey, params: Record<string, string | number> = {}): string {
  const template = DICTIONARIES[current][key] ?? en[key] ?? key
  return template.replace(/\{(\w+)\}/g, (match, name: string) => (name in params ? String(params[name]) : match))
}

export function useI18n() {
  function setLocale(next: Locale) {
    locale.value = next
    globalThis.localStorage?.setItem(STORAGE_KEY, next)
    if (globalThis.document) document.documentElement.lang = next
  }
  const t = (key: MessageKey, params?: Record<string, string | number>) => translate(locale.value, key, params)
  return { locale: computed(() => locale.value), setLocale, t }
}
