import { describe, expect, it } from 'vitest'
import { readSseJson } from './sse'

function streamOf(parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder()
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part))
      controller.close()
    },
  })
}

async function collect(parts: string[]) {
  const events: unknown[] = []
  for await (const event of readSseJson(streamOf(parts))) events.push(event)
  return events
}

describe('readSseJson', () => {
  it('yields each data event parsed, across arbitrary read boundaries', async () => {
    const events = await collect(['data: {"delta":"Hel', 'lo"}\n', '\ndata: {"delta":" w"}\n\ndata: {"done":true}\n\n'])
    expect(events).toEqual([{ delta: 'Hello' }, { delta: ' w' }, { done: true }])
  })

  it('handles CRLF, comments and a final event without a blank line', async () => {
    const events = await collect([': keep-alive\r\n\r\ndata: {"a":1}\r\n\r\n', 'data: {"b":2}'])
    expect(events).toEqual([{ a: 1 }, { b: 2 }])
  })

  it('keeps multi-byte characters split between reads intact', async () => {
    const bytes = new TextEncoder().encode('data: {"delta":"Привет"}\n\n')
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(bytes.slice(0, 17))
        controller.enqueue(bytes.slice(17))
        controller.close()
      },
    })
    const events: unknown[] = []
    for await (const event of readSseJson(stream)) events.push(event)
    expect(events).toEqual([{ delta: 'Привет' }])
  })
})
