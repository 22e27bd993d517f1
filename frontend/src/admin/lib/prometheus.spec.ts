import { describe, expect, it } from 'vitest'
import { parsePrometheus, summarizeMetrics } from './prometheus'

const TEXT = `# HELP aiclone_generated_tokens_total Tokens generated
# TYPE aiclone_generated_tokens_total counter
aiclone_generated_tokens_total{channel="local"} 120.0
aiclone_generated_tokens_total{channel="relay"} 30.0
aiclone_time_to_first_token_seconds_bucket{channel="local",le="0.1"} 1.0
aiclone_time_to_first_token_seconds_count{channel="local"} 4.0
aiclone_time_to_first_token_seconds_sum{channel="local"} 0.8
aiclone_decode_tokens_per_second_count{channel="local"} 2.0
aiclone_decode_tokens_per_second_sum{channel="local"} 90.0
aiclone_http_requests_total{method="GET",route="/api/status",status="200"} 7.0
aiclone_http_requests_total{method="POST",route="/api/chat/stream",status="200"} 3.0
`

describe('prometheus text', () => {
  it('parses names, labels and values', () => {
    const samples = parsePrometheus(TEXT)
    expect(samples[0]).toEqual({ name: 'aiclone_generated_tokens_total', labels: { channel: 'local' }, value: 120 })
    expect(samples.find((s) => s.labels.route === '/api/chat/stream')?.labels.method).toBe('POST')
  })

  it('summarizes totals and histogram means', () => {
    expect(summarizeMetrics(TEXT)).toEqual({
      generatedTokens: 150,
      timeToFirstTokenS: 0.2,
      decodeTokensPerS: 45,
      httpRequests: 10,
    })
  })

  it('has no means before the first generation', () => {
    expect(summarizeMetrics('').timeToFirstTokenS).toBeNull()
  })
})
