// The series the overview page charts, read from GET /api/overview's samples.
import type { OverviewResponse, OverviewSample } from '@/api/agentOverview'
import type { SeriesPoint } from './sparkline'

export type NetworkMode = OverviewSample['mode']

/** One series: ``pick`` reads its value from a sample (null: not measured then). */
export function series(overview: OverviewResponse, pick: (sample: OverviewSample) => number | null): SeriesPoint[] {
  return overview.samples.map((sample) => ({ at: sample.at, value: pick(sample) }))
}

/** The x axis: the page's window ending at the newest sample (or now, with none yet). */
export function timeBox(overview: OverviewResponse, width: number, height: number) {
  const end = overview.samples.length ? overview.samples[overview.samples.length - 1].at : overview.current.at
  return { width, height, start: end - overview.window_s, end }
}
