// The gateway's password rule as the sign-up form says it: a length before submitting, and the
// gateway's answer for a common password (its code) in the visitor's language.
import { ApiError } from '@/api/http'
import type { MessageKey } from '../i18n/en'

export const DEFAULT_MIN_LENGTH = 8

/** The message for a password the form can already tell is too short, else null (the gateway judges the rest). */
export function passwordProblem(password: string, minLength = DEFAULT_MIN_LENGTH): MessageKey | null {
  return password.length < minLength ? 'chatux.passwordTooShort' : null
}

/** The gateway's refusal of a password (sign-up or change) in the form's words, else null. */
export function passwordRefusal(cause: unknown): MessageKey | null {
  if (!(cause instanceof ApiError)) return null
  if (cause.code === 'password_too_common') return 'chatux.passwordTooCommon'
  if (cause.code === 'password_too_short') return 'chatux.passwordTooShort'
  return null
}
