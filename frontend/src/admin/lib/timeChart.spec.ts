import { describe, expect, it } from 'vitest'
import { chartData, chartOptions, timeTicks, tooltipText } from './timeChart'
import { formatValue } from './sparkline'

// 2026-01-02 03:04:05 UTC; the tests read clocks in UTC (TZ is set below for Intl)
const AT = Date.UTC(2026, 0, 2, 3, 4, 5) / 1000
const rate = (v: number) => formatValue(v, 'rate', 'en', 'tok/s')
const points = [{ at: AT, value: 12 }, { at: AT + 10, value: null }, { at: AT + 20, value: 40 }]
const spec = {
  label: 'Decode speed', view: () => ({ points, start: AT - 60, end: AT + 20 }), format: rate, locale: 'en-GB', width: 300, height: 130,
  colors: { line: '#111', axis: '#222', grid: '#333' },
}

describe('overview time charts', () => {
  it('labels the time axis with clock times, with seconds only when a tick needs them', () => {
    process.env.TZ = 'UTC'
    const minute = AT - 5 // 03:04:00
    expect(timeTicks([minute, minute + 60], 'en-GB')).toEqual(['03:04', '03:05'])
    expect(timeTicks([minute, minute + 30], 'en-GB')).toEqual(['03:04:00', '03:04:30'])
    expect(timeTicks([minute], 'ru')).toEqual(['03:04'])
  })

  it('marks a count in whole numbers only (never "1" twice)', () => {
    const count = (v: number) => formatValue(v, 'count', 'en')
    const splitsFor = (values: number[]) => {
      const axis = chartOptions({ ...spec, format: count, whole: true, view: () => ({ points: values.map((value, i) => ({ at: AT + i, value })), start: AT, end: AT + 9 }) }).axes![1]
      return (axis.values as (u: unknown, s: number[]) => string[])(null, (axis.splits as () => number[])())
    }
    expect(splitsFor([0, 1])).toEqual(['0', '1'])
    expect(splitsFor([0, 0])).toEqual(['0', '1'])
    expect(splitsFor([3, 4])).toEqual(['0', '5']) // top 5: no 2.5 mark
    expect(splitsFor([7])).toEqual(['0', '5', '10'])
  })

  it('labels the value axis with units: zero, the middle and a readable top', () => {
    const options = chartOptions(spec)
    const yAxis = options.axes![1]
    const splits = (yAxis.splits as () => number[])()
    expect(splits).toEqual([0, 25, 50])
    const values = yAxis.values as (u: unknown, s: number[]) => string[]
    expect(values(null, splits)).toEqual(['0 tok/s', '25 tok/s', '50 tok/s'])
    const range = options.scales!.x.range as () => [number, number]
    expect(range()).toEqual([AT - 60, AT + 20])
    expect(options.scales!.x.time).toBe(true)
  })

  it('the tooltip says when and how much, and "—" for a gap', () => {
    process.env.TZ = 'UTC'
    expect(tooltipText(AT, 12.3, rate, 'en-GB')).toBe('03:04:05 · 12 tok/s')
    expect(tooltipText(AT, null, rate, 'en-GB')).toBe('03:04:05 · —')
  })

  it('hands uPlot the samples in the window, gaps as null', () => {
    expect(chartData([{ at: AT - 100, value: 1 }, ...points], AT - 60)).toEqual([[AT, AT + 10, AT + 20], [12, null, 40]])
  })
})
