// The overview's charts as uPlot draws them (issue 25, item 10): a time axis in the reader's
// clock and language, a value axis with units, a tooltip with the sample's time and value.
// Pure functions building uPlot's options (Vitest covers them); TimeChart.vue draws.
import type uPlot from 'uplot'
import { niceMax, type SeriesPoint } from './sparkline'

export interface ChartColors {
  line: string
  axis: string
  grid: string
}

export interface TimeChartSpec {
  label: string
  /** the x axis's span (Unix seconds) and the values, read at each redraw (new data reuses the chart) */
  view: () => { points: SeriesPoint[]; start: number; end: number }
  /** a value as text, with its unit ("12 tok/s", "240 ms", "25%") */
  format: (value: number) => string
  /** the scale's top at least (1 for a fraction) */
  floor?: number
  /** whole numbers only (a count): no "0.5 users" mark, no two marks both reading "1" */
  whole?: boolean
  locale: string
  width: number
  height: number
  colors: ChartColors
}

/** The time axis's tick steps, seconds: 1 s to a day. */
export const TIME_STEPS_S = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400]

/** Clock times for the x axis's ticks: with seconds only when a tick is not on a whole minute. */
export function timeTicks(splits: number[], locale: string): string[] {
  const withSeconds = splits.some((at) => at % 60 !== 0)
  const clock = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', second: withSeconds ? '2-digit' : undefined })
  return splits.map((at) => clock.format(at * 1000))
}

/** The tooltip's text for one sample: its clock time and its value with the unit. */
export function tooltipText(at: number, value: number | null, format: (value: number) => string, locale: string, none = '—'): string {
  const clock = new Intl.DateTimeFormat(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit' }).format(at * 1000)
  return `${clock} · ${value === null || !Number.isFinite(value) ? none : format(value)}`
}

/** The columns uPlot draws: times, then values (null leaves a gap in the line). */
export function chartData(points: SeriesPoint[], start: number): uPlot.AlignedData {
  const kept = points.filter((p) => p.at >= start)
  return [kept.map((p) => p.at), kept.map((p) => (p.value !== null && Number.isFinite(p.value) ? p.value : null))]
}

/** uPlot's options for one chart: fixed time span, a zero-based value scale rounded to a
 * readable top, both axes labelled in the reader's language, a gap wherever nothing was measured. */
export function chartOptions(spec: TimeChartSpec): uPlot.Options {
  const top = () => {
    const nice = niceMax(spec.view().points.map((p) => p.value), spec.floor ?? 0)
    return spec.whole ? Math.ceil(nice) : nice
  }
  // zero, the middle and the top; a count's middle only where it is a whole number
  const marks = () => {
    const t = top()
    return spec.whole && t % 2 !== 0 ? [0, t] : [0, t / 2, t]
  }
  const font = '11px system-ui, sans-serif'
  return {
    width: spec.width,
    height: spec.height,
    legend: { show: false },
    cursor: { drag: { x: false, y: false }, points: { size: 6 } },
    scales: {
      x: { time: true, range: () => [spec.view().start, spec.view().end] },
      y: { range: () => [0, top()] },
    },
    axes: [
      {
        stroke: spec.colors.axis,
        font,
        size: 28,
        grid: { stroke: spec.colors.grid, width: 1 },
        ticks: { stroke: spec.colors.grid, width: 1, size: 4 },
        values: (_u, splits) => timeTicks(splits, spec.locale),
        // uPlot's own steps jump from 1 to 5 minutes: a young agent's few minutes got one tick
        incrs: TIME_STEPS_S,
        space: 55,
      },
      {
        stroke: spec.colors.axis,
        font,
        size: 64,
        grid: { stroke: spec.colors.grid, width: 1 },
        ticks: { show: false },
        splits: marks,
        values: (_u, splits) => splits.map((v) => spec.format(v)),
      },
    ],
    series: [
      {},
      // dots as well as the line: a value between two gaps (one slow first token) still shows
      { label: spec.label, stroke: spec.colors.line, width: 2, spanGaps: false, points: { show: true, size: 3, fill: spec.colors.line } },
    ],
  }
}
