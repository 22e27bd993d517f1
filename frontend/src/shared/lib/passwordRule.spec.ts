import { describe, expect, it } from 'vitest'
import { ApiError } from '@/api/http'
import { translate } from '../composables/useI18n'
import { passwordProblem, passwordRefusal } from './passwordRule'

describe('password rule', () => {
  it('says a short password before submitting, and leaves the rest to the gateway', () => {
    expect(passwordProblem('short')).toBe('chatux.passwordTooShort')
    expect(passwordProblem('violet kettle')).toBeNull()
    expect(passwordProblem('twelve chars', 13)).toBe('chatux.passwordTooShort')
  })

  it("turns the gateway's refusal of a common password into the form's words, in both languages", () => {
    const refused = new ApiError(400, 'this password is one of the most common ones; choose another', 'password_too_common', { password: '…' })
    const key = passwordRefusal(refused)
    expect(key).toBe('chatux.passwordTooCommon')
    expect(translate('en', key!, { min: 8 })).toMatch(/common/)
    expect(translate('ru', key!, { min: 8 })).toMatch(/распростран/)
    expect(passwordRefusal(new ApiError(409, 'taken', 'email_taken'))).toBeNull()
    expect(passwordRefusal(new Error('network'))).toBeNull()
  })
})
