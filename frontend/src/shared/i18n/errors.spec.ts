import { describe, expect, it } from 'vitest'
import { errorFromBody } from '@/api/http'
import { en } from './en'
import { errorSentence, fieldSentence } from './errors'
import { ru } from './ru'

describe('server errors in the page\'s language', () => {
  it('renders a code with its params, never the server\'s text', () => {
    expect(errorSentence('file_too_large', 413, { max_mb: 20 }, 'ru')).toBe('Файл больше предела в 20 МБ. Выберите файл поменьше.')
    expect(errorSentence('invalid_credentials', 401, {}, 'en')).toBe('Wrong email or password. Check them and try again.')
    expect(fieldSentence({ code: 'too_large', params: { max: 2 } }, 'ru')).toBe('Не больше 2.')
  })

  it('falls back to the status\'s sentence for a code it does not know', () => {
    expect(errorSentence('brand_new_code', 409, {}, 'ru')).toBe(ru['error.status.409'])
    expect(errorSentence(null, 502, {}, 'en')).toBe(en['error.status.server'])
    expect(errorSentence(null, 0, {}, 'en')).toBe(en['error.network_error'])
  })

  it('turns an error answer into an ApiError a person can read', () => {
    const error = errorFromBody(400, 'Bad Request', {
      error: {
        message: 'temperature: Input should be less than or equal to 2', type: 'invalid_request_error', param: 'temperature', code: 'invalid_request',
        fields: { temperature: 'Input should be less than or equal to 2', extra: 'Extra inputs are not permitted' },
        field_codes: { temperature: { code: 'too_large', params: { max: 2 } } },
      },
    })
    expect(error.message).toBe(en['error.invalid_request'])
    expect(error.serverMessage).toContain('Input should be')
    // a field named without a code reads as "not valid", never in the server's words
    expect(error.fields).toEqual({ temperature: 'At most 2.', extra: en['field.invalid_value'] })
    expect(errorFromBody(502, 'Bad Gateway', null).message).toBe(en['error.status.server'])
  })
})
