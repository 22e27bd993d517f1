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
