// Generated from local-inference/aiclone_agent/overview/protocol.py by
// `python scripts/typescript.py`: do not edit by hand (a test compares them).

/** What the gateway last told the agent about itself (`GatewayStats` on the link). */
export interface GatewayNumbers {
  users_online: number
  chat_sockets: number
  requests_in_flight: number
  queued_questions: number
  errors: number
  replicas: number
  age_s: number
}

export interface OverviewSample {
  at: number
  tokens_per_s: number
  ttft_ms: number | null
  queue: number | null
  running: number | null
  kv_used: number | null
  mode: 'direct' | 'relay' | 'hybrid' | 'offline'
  paths: Record<string, PathSample>
  reconnects: number
  gateway: GatewayNumbers | null
}

export interface PathSample {
  up: boolean
  rtt_ms: number | null
}

// The body of GET /api/overview.

export interface OverviewResponse {
  interval_s: number
  window_s: number
  gateway_url: string
  gateway_connected: boolean
  samples: OverviewSample[]
  current: OverviewSample
}
