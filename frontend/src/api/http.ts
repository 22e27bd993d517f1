// Shared HTTP plumbing for both API clients: one error type, JSON requests, the error envelope
// {"error": {"message", "type", "param", "code", "params", "fields", "field_codes"}} that the agent
// and the gateway both use.
import { errorSentence, fieldSentence, type ErrorParams, type FieldError } from '@/shared/i18n/errors'

/** A refusal: `message` is the sentence a person reads, in the page's language, from `code` and
 * `params` (the server's English text is kept in `serverMessage`, for the console only). */
export class ApiError extends Error {
  readonly status: number
  readonly code: string | null
  readonly params: ErrorParams
  readonly serverMessage: string
  /** The request's bad fields and what is wrong with each, in the page's language. */
  readonly fields: Record<string, string>

  constructor(status: number, serverMessage: string, code: string | null = null, fields: Record<string, string> = {}, params: ErrorParams = {}) {
    super(errorSentence(code, status, params))
    this.name = 'ApiError'
    this.status = status
    this.code = code
    this.params = params
    this.serverMessage = serverMessage
    this.fields = fields
  }
}

interface ErrorObject {
  message?: string
  code?: string | null
  param?: string | null
  params?: ErrorParams
  fields?: Record<string, string>
  field_codes?: Record<string, FieldError>
}

interface ErrorEnvelope {
  error?: ErrorObject | string
  detail?: unknown
}

/** Each bad field's sentence: from its code; a field named without one reads as a plain "not valid". */
function fieldSentences(error: ErrorObject): Record<string, string> {
  const names = new Set([...Object.keys(error.fields ?? {}), ...Object.keys(error.field_codes ?? {})])
  if (error.param && names.size === 0) names.add(error.param)
  const out: Record<string, string> = {}
  for (const name of names) out[name] = fieldSentence(error.field_codes?.[name] ?? { code: 'invalid_value' })
  return out
}

/** An ApiError from an error answer's status and JSON body (or null when the body was not JSON). */
export function errorFromBody(status: number, statusText: string, body: unknown): ApiError {
  const envelope = (body ?? {}) as ErrorEnvelope
  const error = envelope.error
  if (error && typeof error === 'object' && error.message) {
    return new ApiError(status, error.message, error.code ?? null, fieldSentences(error), error.params ?? {})
  }
  const text = typeof error === 'string' ? error : typeof envelope.detail === 'string' ? envelope.detail : `${status} ${statusText}`.trim()
  return new ApiError(status, text)
}

export async function errorFrom(response: Response): Promise<ApiError> {
  let body: unknown = null
  try {
    body = await response.json()
  } catch {
    // not JSON: the status says it
  }
  return errorFromBody(response.status, response.statusText, body)
}

/** A failure to reach the server (the browser's own words, "Failed to fetch", "network error", are
 * never shown) as an ApiError whose sentence says so; an abort the caller asked for stays itself. */
export function networkError(cause: unknown, signal?: AbortSignal | null): unknown {
  if (signal?.aborted || (cause instanceof DOMException && cause.name === 'AbortError')) return cause
  return new ApiError(0, cause instanceof Error ? cause.message : 'network error', 'network_error')
}

/** `fetch` for the calls that read the body themselves (a stream, a text page): see networkError. */
export async function fetchOrNetworkError(url: string, init: RequestInit = {}): Promise<Response> {
  try {
    return await fetch(url, init)
  } catch (cause) {
    throw networkError(cause, init.signal)
  }
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
