/**
 * Follows GET /jobs/:id/events (Server-Sent Events, lib/http/handlers/job-events.ts) as an
 * async iterable of events, reconnecting with `Last-Event-ID` when the stream drops (the
 * server then replays the state transitions missed; progress events are whole snapshots).
 * It ends only when the caller stops iterating or `signal` aborts; an API error (404, 401)
 * is thrown at once, and so is a server unreachable for MAX_FAILURES tries in a row.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { ApiError, type ApiClient } from './api-client.js'

export interface SseEvent {
  readonly event: string
  readonly data: string
  readonly id: string | null
}

const MAX_FAILURES = 30

export async function * followEvents (client: ApiClient, path: string, signal: AbortSignal): AsyncGenerator<SseEvent> {
  let lastId: string | null = null
  let retryMs = 1000
  let failures = 0
  while (!signal.aborted) {
    try {
      const headers: Record<string, string> = { accept: 'text/event-stream' }
      if (lastId !== null) headers['last-event-id'] = lastId
      const answer = await client.call(path, { headers, signal })
      failures = 0
      for await (const frame of parseFrames(answer.body as AsyncIterable<Buffer>)) {
        if (frame.retry !== null) retryMs = frame.retry
        if (frame.event === null) continue
        if (frame.id !== null) lastId = frame.id
        yield { event: frame.event, data: frame.data, id: frame.id }
      }
    } catch (err) {
      if (signal.aborted) return
      // An API answer (404, 401) will not change by asking again; a dropped connection may.
      if (err instanceof ApiError && err.code !== 'network_error') throw err
      if (++failures >= MAX_FAILURES) throw err
    }
    await sleep(retryMs, undefined, { signal }).catch(() => undefined)
  }
}

interface Frame { event: string | null, data: string, id: string | null, retry: number | null }

/** SSE framing (WHATWG HTML §9.2.6): fields per line, an event per blank line. */
async function * parseFrames (body: AsyncIterable<Buffer>): AsyncGenerator<Frame> {
  let buffered = ''
  let frame: Frame = { event: null, data: '', id: null, retry: null }
  let hasData = false
  for await (const chunk of body) {
    buffered += chunk.toString('utf8')
    let newline = buffered.indexOf('\n')
    while (newline !== -1) {
      const line = buffered.slice(0, newline).replace(/\r$/, '')
      buffered = buffered.slice(newline + 1)
      if (line === '') {
        if (hasData || frame.retry !== null) yield { ...frame, event: hasData ? (frame.event ?? 'message') : null }
        frame = { event: null, data: '', id: null, retry: null }
        hasData = false
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'event') frame.event = value
        else if (field === 'id') frame.id = value
        else if (field === 'retry' && /^\d+$/.test(value)) frame.retry = Number(value)
        else if (field === 'data') {
          frame.data = hasData ? `${frame.data}\n${value}` : value
          hasData = true
        }
      }
      newline = buffered.indexOf('\n')
    }
  }
}
