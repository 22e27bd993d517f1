import { describe, expect, it } from 'vitest'
import { formatValue, modeSegments, niceMax } from './sparkline'

const box = { width: 100, height: 20, start: 0, end: 10 }

describe('sparkline scale', () => {
  it('rounds the top of the scale up to a readable number', () => {
    expect(niceMax([3, 7.2, null])).toBe(10)
    expect(niceMax([0.13])).toBe(0.2)
    expect(niceMax([120])).toBe(200)
    expect(niceMax([2.2])).toBe(2.5)
    expect(niceMax([0, null])).toBe(1) // an idle series still has a scale
    expect(niceMax([0.2], 1)).toBe(1) // a fraction keeps its 0..1 scale
  })
})

describe('sparkline values', () => {
  it('writes each kind with its unit in the reader\'s language', () => {
    expect(formatValue(12.345, 'rate', 'en', 'tok/s')).toBe('12 tok/s')
    expect(formatValue(4.25, 'rate', 'ru', 'ток/с')).toBe('4,3 ток/с')
    expect(formatValue(85.4, 'ms', 'en')).toBe('85 ms')
    expect(formatValue(1540, 'ms', 'en')).toBe('1.5 sec')
    expect(formatValue(1540, 'ms', 'ru')).toMatch(/^1,5\sс$/)
    expect(formatValue(0.256, 'fraction', 'en')).toBe('26%')
    expect(formatValue(0.004, 'fraction', 'en')).toBe('0.4%')
    expect(formatValue(3, 'count', 'ru')).toBe('3')
    expect(formatValue(null, 'ms', 'en')).toBe('—')
  })
})

describe('mode strip', () => {
  it('joins consecutive samples of one mode into one stretch', () => {
    const samples = [
      { at: 2, mode: 'relay' as const },
      { at: 4, mode: 'relay' as const },
      { at: 6, mode: 'offline' as const },
      { at: 8, mode: 'relay' as const },
    ]
    expect(modeSegments(samples, box, 2)).toEqual([
      { mode: 'relay', from: 0, to: 0.4 },
      { mode: 'offline', from: 0.4, to: 0.6 },
      { mode: 'relay', from: 0.6, to: 0.8 },
    ])
  })
})
