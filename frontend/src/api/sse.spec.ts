import { describe, expect, it, vi } from 'vitest'
import { ApiError } from './http'
import { agentApi } from './agent'
import { readSseJson } from './sse'
import { useI18n } from '@/shared/composables/useI18n'

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

  it('a body cut off mid-answer ends in the page-language sentence, not the browser words', async () => {
    useI18n().setLocale('ru')
    const encoder = new TextEncoder()
    let pulls = 0
    const cut = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulls++ === 0) controller.enqueue(encoder.encode('data: {"delta":"Hi"}\n\n'))
        else controller.error(new TypeError('network error'))
      },
    })
    const events: unknown[] = []
    const failure = await (async () => {
      for await (const event of readSseJson(cut)) events.push(event)
    })().catch((cause: unknown) => cause)
    expect(events).toEqual([{ delta: 'Hi' }])
    expect(failure).toBeInstanceOf(ApiError)
    expect((failure as ApiError).code).toBe('network_error')
    expect((failure as ApiError).message).not.toContain('network error')
    expect((failure as ApiError).message).toMatch(/[а-яё]/i)
  })

  it('a chat stream whose server cannot be reached says so in the page language; an abort stays an abort', async () => {
    useI18n().setLocale('en')
    vi.stubGlobal('fetch', vi.fn(async () => { throw new TypeError('Failed to fetch') }))
    const failure = await agentApi.streamChat('Hi', null, new AbortController().signal).next().catch((cause: unknown) => cause)
    expect(failure).toBeInstanceOf(ApiError)
    expect((failure as ApiError).message).not.toContain('Failed to fetch')
    const stopped = new AbortController()
    stopped.abort()
    vi.stubGlobal('fetch', vi.fn(async () => { throw new DOMException('The user aborted a request.', 'AbortError') }))
    const aborted = await agentApi.streamChat('Hi', null, stopped.signal).next().catch((cause: unknown) => cause)
    expect((aborted as Error).name).toBe('AbortError')
    vi.unstubAllGlobals()
  })
})
