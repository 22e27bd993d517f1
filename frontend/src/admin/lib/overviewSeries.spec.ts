import { describe, expect, it } from 'vitest'
import type { OverviewResponse, OverviewSample } from '@/api/agentOverview'
import { series, timeBox } from './overviewSeries'

function sample(at: number, tokens: number, gateway: boolean): OverviewSample {
  return {
    at, tokens_per_s: tokens, ttft_ms: null, queue: 0, running: 0, kv_used: 0.1, mode: gateway ? 'relay' : 'offline',
    paths: { relay: { up: gateway, rtt_ms: gateway ? 2 : null } }, reconnects: 0,
    gateway: gateway ? { users_online: 1, chat_sockets: 1, requests_in_flight: 0, queued_questions: 0, errors: 0, replicas: 1, age_s: 1 } : null,
  }
}

function overview(samples: OverviewSample[]): OverviewResponse {
  return { interval_s: 10, window_s: 3600, gateway_url: 'wss://x', gateway_connected: true, samples, current: sample(1e6, 0, true) }
}

describe('overview series', () => {
  it('spans the samples kept: a young agent fills the chart, an old one shows the last hour', () => {
    expect(timeBox(overview([sample(1000, 1, true), sample(1010, 2, true)]), 300, 60)).toEqual({ width: 300, height: 60, start: 990, end: 1010 })
    const hour = Array.from({ length: 400 }, (_, i) => sample(i * 10, 0, true))
    expect(timeBox(overview(hour), 300, 60)).toMatchObject({ start: 3990 - 3600, end: 3990 })
    expect(timeBox(overview([]), 300, 60)).toMatchObject({ start: 1e6 - 10, end: 1e6 })
  })

  it('leaves a gap where the gateway sent nothing', () => {
    const body = overview([sample(0, 1, true), sample(10, 3, false)])
    expect(series(body, (s) => s.gateway?.users_online ?? null)).toEqual([{ at: 0, value: 1 }, { at: 10, value: null }])
    expect(series(body, (s) => s.tokens_per_s).map((p) => p.value)).toEqual([1, 3])
  })
})
