// Just enough of the Prometheus text format for the admin's metrics glance.

export interface Sample { name: string; labels: Record<string, string>; value: number }

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LABEL = /(\w+)="((?:[^"\\]|\\.)*)"/g

export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue
    const match = LINE.exec(line)
    if (!match) continue
    const labels: Record<string, string> = {}
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key] = value.replace(/\\(.)/g, '$1')
    samples.push({ name: match[1], labels, value: Number(match[3]) })
  }
  return samples
}

const total = (samples: Sample[], name: string) =>
  samples.filter((s) => s.name === name).reduce((sum, s) => sum + (Number.isFinite(s.value) ? s.value : 0), 0)

function histogramMean(samples: Sample[], name: string): number | null {
  const count = total(samples, `${name}_count`)
  return count > 0 ? total(samples, `${name}_sum`) / count : null
}

export interface MetricsGlance {
  generatedTokens: number
  timeToFirstTokenS: number | null
  decodeTokensPerS: number | null
  httpRequests: number
}

export function summarizeMetrics(text: string): MetricsGlance {
  const samples = parsePrometheus(text)
  return {
    generatedTokens: total(samples, 'aiclone_generated_tokens_total'),
    timeToFirstTokenS: histogramMean(samples, 'aiclone_time_to_first_token_seconds'),
    decodeTokensPerS: histogramMean(samples, 'aiclone_decode_tokens_per_second'),
    httpRequests: total(samples, 'aiclone_http_requests_total'),
  }
}
