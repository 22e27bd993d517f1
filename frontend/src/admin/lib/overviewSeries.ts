// The series the overview page charts, read from GET /api/overview's samples.
import type { OverviewResponse, OverviewSample } from '@/api/agentOverview'
import type { ChartBox, SeriesPoint } from './sparkline'

export type NetworkMode = OverviewSample['mode']

/** One series: ``pick`` reads its value from a sample (null: not measured then). */
export function series(overview: OverviewResponse, pick: (sample: OverviewSample) => number | null): SeriesPoint[] {
  return overview.samples.map((sample) => ({ at: sample.at, value: pick(sample) }))
}

/** The x axis: from the oldest sample (or the window's start, once an hour is kept) to the
 * newest, so a young agent's few minutes fill the chart instead of its right edge. */
export function timeBox(overview: OverviewResponse, width: number, height: number): ChartBox {
  const samples = overview.samples
  const end = samples.length ? samples[samples.length - 1].at : overview.current.at
  const first = samples.length ? samples[0].at - overview.interval_s : end - overview.interval_s
  return { width, height, start: Math.max(end - overview.window_s, first), end }
}
