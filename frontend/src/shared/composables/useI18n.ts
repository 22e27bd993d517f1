// The interface's languages on vue-i18n: en.ts and ru.ts are the messages ("{name}" fills a value,
// "one | few | many" picks a plural form by `count` with each language's own rules), the choice is
// kept in localStorage. `useI18n()` keeps its small call shape (`t(key, params)`) for the views.
import { computed, ref } from 'vue'
import { createI18n } from 'vue-i18n'
import { en, type MessageKey } from '../i18n/en'
import { ru } from '../i18n/ru'

export type Locale = 'en' | 'ru'
export const LOCALES: readonly Locale[] = ['en', 'ru']
const STORAGE_KEY = 'aiclone.locale'
type Params = Record<string, string | number>

function initialLocale(): Locale {
  const saved = globalThis.localStorage?.getItem(STORAGE_KEY)
  if (saved === 'en' || saved === 'ru') return saved
  return globalThis.navigator?.language?.toLowerCase().startsWith('ru') ? 'ru' : 'en'
}

/** vue-i18n reads "@" as a link to another message; in ours it is only ever "@BotFather". */
function literalAt(messages: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(messages).map(([key, text]) => [key, text.replace(/@/g, "{'@'}")]))
}

/** The plural form's index for `count` in `locale`, from Intl's rules (Russian has three forms). */
function pluralIndex(locale: Locale) {
  const rules = new Intl.PluralRules(locale)
  const order: Record<Locale, Intl.LDMLPluralRule[]> = { en: ['one', 'other'], ru: ['one', 'few', 'many'] }
  return (count: number, forms: number) => {
    const index = order[locale].indexOf(rules.select(Math.abs(count)))
    return Math.min(index < 0 ? 1 : index, forms - 1) // Russian fractions ("1,5 байта") take the second form
  }
}

const i18n = createI18n({
  legacy: false,
  locale: initialLocale(),
  fallbackLocale: 'en',
  messages: { en: literalAt(en), ru: literalAt(ru) },
  pluralRules: { en: pluralIndex('en'), ru: pluralIndex('ru') },
  missingWarn: false,
  fallbackWarn: false,
})

// One locale for the whole page, shared by every component that calls useI18n().
const locale = ref<Locale>(i18n.global.locale.value as Locale)
if (globalThis.document) document.documentElement.lang = locale.value

/** The page's language now (reactive when read during a render). */
export function currentLocale(): Locale {
  return locale.value
}

/** Whether the catalogue has `key` (codes from a server are checked before they are looked up). */
export function hasMessage(key: string): key is MessageKey {
  return key in en
}

export function translate(current: Locale, key: MessageKey, params: Params = {}): string {
  const count = params.count
  const options = typeof count === 'number' ? { locale: current, plural: count } : { locale: current }
  return i18n.global.t(key, params, options)
}

export function useI18n() {
  function setLocale(next: Locale) {
    locale.value = next
    i18n.global.locale.value = next
    globalThis.localStorage?.setItem(STORAGE_KEY, next)
    if (globalThis.document) document.documentElement.lang = next
  }
  const t = (key: MessageKey, params?: Params) => translate(locale.value, key, params)
  return { locale: computed(() => locale.value), setLocale, t }
}
