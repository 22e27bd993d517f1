// Shared HTTP plumbing for both API clients: one error type, JSON requests, the error envelope
// {"error": {"message", "type", "param", "code"}} that the agent and the gateway both use.

export class ApiError extends Error {
  readonly status: number
  readonly code: string | null
  /** The request's bad fields and what is wrong with each (from the envelope's ``fields``/``param``). */
  readonly fields: Record<string, string>

  constructor(status: number, message: string, code: string | null = null, fields: Record<string, string> = {}) {
    super(message)
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.fields = fields
  }
}

interface ErrorEnvelope {
  error?: { message?: string; code?: string | null; param?: string | null; fields?: Record<string, string> } | string
  detail?: unknown
}

export async function errorFrom(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`.trim()
  let code: string | null = null
  let fields: Record<string, string> = {}
  try {
    const body = (await response.json()) as ErrorEnvelope
    if (typeof body.error === 'string') message = body.error
    else if (body.error?.message) {
      message = body.error.message
      code = body.error.code ?? null
      fields = body.error.fields ?? (body.error.param ? { [body.error.param]: message } : {})
    } else if (typeof body.detail === 'string') message = body.detail
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(response.status, message, code, fields)
}

export async function requestJson<T>(url: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers)
  if (init.body !== undefined && typeof init.body === 'string' && !headers.has('Content-Type')) {
    headers.set('Content-Type', 'application/json')
  }
  let response: Response
  try {
    response = await fetch(url, { ...init, headers })
  } catch (cause) {
    throw new ApiError(0, cause instanceof Error ? cause.message : 'network error', 'network_error')
  }
  if (!response.ok) throw await errorFrom(response)
  if (response.status === 204) return undefined as T
  const text = await response.text()
  return (text ? JSON.parse(text) : undefined) as T
}

export function jsonBody(value: unknown): RequestInit {
  return { body: JSON.stringify(value), headers: { 'Content-Type': 'application/json' } }
}
