// A server's refusal in the page's language: its stable `code` and `params` (aiclone_wire/error_codes.py)
// looked up in the catalogue ("error.<code>", each field's "field.<code>"). The server's own English
// `message` is never shown: a code the catalogue lacks reads as its status's sentence.
import { currentLocale, hasMessage, translate, type Locale } from '../composables/useI18n'
import type { MessageKey } from './en'

export type ErrorParams = Record<string, unknown>
export interface FieldError {
  code: string
  params?: ErrorParams
}

function plain(params: ErrorParams | undefined): Record<string, string | number> {
  const out: Record<string, string | number> = {}
  for (const [name, value] of Object.entries(params ?? {})) out[name] = typeof value === 'number' ? value : String(value)
  return out
}

function statusKey(status: number): MessageKey {
  if (status === 0) return 'error.network_error'
  if (status >= 500) return 'error.status.server'
  const key = `error.status.${status}`
  return hasMessage(key) ? key : 'error.status.other'
}

/** The sentence for an error answer: what happened and what to do. */
export function errorSentence(code: string | null | undefined, status: number, params?: ErrorParams, locale: Locale = currentLocale()): string {
  const key = `error.${code ?? ''}`
  return code && hasMessage(key) ? translate(locale, key, plain(params)) : translate(locale, statusKey(status))
}

/** The sentence for one bad field of a form (`error.field_codes[field]`). */
export function fieldSentence(error: FieldError, locale: Locale = currentLocale()): string {
  const key = `field.${error.code}`
  return translate(locale, hasMessage(key) ? key : 'field.invalid_value', plain(error.params))
}
