import { describe, expect, it } from 'vitest'
import { en } from '../i18n/en'
import { ru } from '../i18n/ru'
import { translate, useI18n } from './useI18n'

describe('i18n', () => {
  it('has a Russian string for every English key', () => {
    expect(Object.keys(ru).sort()).toEqual(Object.keys(en).sort())
    for (const value of Object.values(ru)) expect(value.trim()).not.toBe('')
  })

  it('fills parameters and switches language', () => {
    expect(translate('en', 'chat.empty', { name: 'Ann' })).toBe('Ask Ann anything.')
    expect(translate('ru', 'chat.empty', { name: 'Ann' })).toBe('Спросите Ann о чём угодно.')
    const { t, setLocale, locale } = useI18n()
    setLocale('ru')
    expect(locale.value).toBe('ru')
    expect(t('common.send')).toBe('Отправить')
    expect(localStorage.getItem('aiclone.locale')).toBe('ru')
    setLocale('en')
    expect(t('common.send')).toBe('Send')
  })
})

describe('i18n on vue-i18n', () => {
  it('picks each language\'s plural form and keeps "@" literal', () => {
    const size = (count: number, locale: 'en' | 'ru') => translate(locale, 'format.bytes', { size: count, count })
    expect([1, 2, 483].map((n) => size(n, 'en'))).toEqual(['1 byte', '2 bytes', '483 bytes'])
    expect([1, 3, 5, 21, 483].map((n) => size(n, 'ru'))).toEqual(['1 байт', '3 байта', '5 байт', '21 байт', '483 байта'])
    expect(translate('en', 'error.telegram_token_rejected')).toContain('@BotFather')
  })
})
