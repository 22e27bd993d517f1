// Reads a text/event-stream response body and yields each `data:` payload parsed as JSON.

export async function* readSseJson(body: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  const reader = body.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
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
