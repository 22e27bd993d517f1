// The overview page's charts: the scale's top, the value as the reader sees it, the mode strip.
// Pure functions (Vitest covers them); TimeChart.vue draws with uPlot (lib/timeChart.ts).
import type { OverviewSample } from '@/api/agentOverview'

type NetworkMode = OverviewSample['mode']

export interface SeriesPoint {
  /** Unix seconds */
  at: number
  /** null: nothing measured then (the line breaks) */
  value: number | null
}

export interface ChartBox {
  width: number
  height: number
  /** the time span the x axis shows (Unix seconds) */
  start: number
  end: number
}

/** The scale's top: the largest value rounded up to 1, 2, 2.5 or 5 × 10^n (1 when all are 0). */
export function niceMax(values: (number | null)[], floor = 0): number {
  const largest = Math.max(floor, ...values.filter((v): v is number => v !== null && Number.isFinite(v)))
  if (largest <= 0) return 1
  const magnitude = 10 ** Math.floor(Math.log10(largest))
  const step = [1, 2, 2.5, 5, 10].find((s) => s * magnitude >= largest) ?? 10
  return step * magnitude
}

export type ValueKind = 'rate' | 'ms' | 'fraction' | 'count'

/** A value in the reader's language; ``rateUnit`` names the unit of a rate ("tok/s", "ток/с"). */
export function formatValue(value: number | null, kind: ValueKind, locale: string, rateUnit = ''): string {
  if (value === null || !Number.isFinite(value)) return '—'
  const format = (n: number, options: Intl.NumberFormatOptions) => new Intl.NumberFormat(locale, options).format(n)
  switch (kind) {
    case 'rate':
      return `${format(value, { maximumFractionDigits: value < 10 ? 1 : 0 })} ${rateUnit}`.trim()
    case 'ms':
      return value < 1000
        ? format(value, { style: 'unit', unit: 'millisecond', unitDisplay: 'short', maximumFractionDigits: value < 10 ? 1 : 0 })
        : format(value / 1000, { style: 'unit', unit: 'second', unitDisplay: 'short', maximumFractionDigits: 1 })
    case 'fraction':
      return format(value, { style: 'percent', maximumFractionDigits: value > 0 && value < 0.1 ? 1 : 0 })
    case 'count':
      return format(value, { maximumFractionDigits: 0 })
  }
}

export interface ModeSegment {
  mode: NetworkMode
  /** share of the box's width, 0..1 */
  from: number
  to: number
}

/** Consecutive samples in the same network mode as one stretch of the mode strip. */
export function modeSegments(samples: { at: number; mode: NetworkMode }[], box: Pick<ChartBox, 'start' | 'end'>, intervalS: number): ModeSegment[] {
  const span = Math.max(box.end - box.start, 1e-9)
  const share = (at: number) => Math.min(Math.max((at - box.start) / span, 0), 1)
  const segments: ModeSegment[] = []
  for (const sample of samples) {
    const from = share(sample.at - intervalS)
    const to = share(sample.at)
    const last = segments[segments.length - 1]
    if (last && last.mode === sample.mode && from - last.to < 1e-6 + intervalS / span) last.to = to
    else if (to > from) segments.push({ mode: sample.mode, from, to })
  }
  return segments
}
