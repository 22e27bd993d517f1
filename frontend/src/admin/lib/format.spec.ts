import { describe, expect, it } from 'vitest'
import { formatBytes, formatDuration } from './format'

describe('format', () => {
  it('writes sizes and durations in the reader\'s language', () => {
    expect(formatBytes(1536, 'en')).toBe('1.5 kB')
    expect(formatBytes(1536, 'ru')).toMatch(/^1,5\sкБ$/)
    expect(formatBytes(483, 'en')).toBe('483 bytes')
    expect(formatBytes(1, 'en')).toBe('1 byte')
    expect(formatBytes(483, 'ru')).toBe('483 байта')
    expect(formatBytes(485, 'ru')).toBe('485 байт')
    expect(formatBytes(21, 'ru')).toBe('21 байт')
    expect(formatDuration(3_725, 'en')).toBe('1 hr 2 min')
    expect(formatDuration(3_725, 'ru')).toMatch(/^1\sч 2\sмин$/)
    expect(formatDuration(42, 'ru')).toMatch(/^42\sс$/)
  })
})
