// Reads a text/event-stream response body and yields each `data:` payload parsed as JSON. A body
// cut off (the server went away mid-answer) ends in an ApiError that says so, not the browser's words.
import { networkError } from './http'

export async function* readSseJson(body: ReadableStream<Uint8Array>, signal?: AbortSignal | null): AsyncGenerator<unknown> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (;;) {
      let chunk: ReadableStreamReadResult<Uint8Array>
      try {
        chunk = await reader.read()
      } catch (cause) {
        throw networkError(cause, signal)
      }
      const { value, done } = chunk
      if (done) break
      buffer += decoder.decode(value, { stream: true })
      let boundary = buffer.search(/\r?\n\r?\n/)
      while (boundary !== -1) {
        const event = buffer.slice(0, boundary)
        buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, '')
        const data = dataOf(event)
        if (data !== null) yield JSON.parse(data)
        boundary = buffer.search(/\r?\n\r?\n/)
      }
    }
    const data = dataOf(buffer)
    if (data !== null && data.trim()) yield JSON.parse(data)
  } finally {
    reader.releaseLock()
  }
}

function dataOf(event: string): string | null {
  const lines = event.split(/\r?\n/).filter((line) => line.startsWith('data:'))
  if (lines.length === 0) return null
  return lines.map((line) => line.slice(5).replace(/^ /, '')).join('\n')
}
