// Reads a Server-Sent Events stream (GET /jobs/:id/events) the way a browser's EventSource
// would, into parsed events.
import { expect } from 'chai'

export interface SseEvent { id: string, event: string, data: any }

/** Reads an SSE stream until it closes (or `stopWhen` says so); returns the parsed events. */
export async function readEvents (url: string, headers: Record<string, string> = {}, stopWhen: (events: SseEvent[]) => boolean = () => false): Promise<SseEvent[]> {
  const controller = new AbortController()
  const response = await fetch(url, { headers, signal: controller.signal })
  expect(response.headers.get('content-type')).to.contain('text/event-stream')
  const events: SseEvent[] = []
  let buffer = ''
  const decoder = new TextDecoder()
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true })
      let end
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const fields: Record<string, string> = Object.fromEntries(block.split('\n').map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]))
        if (fields.event !== undefined) events.push({ id: fields.id ?? '', event: fields.event, data: JSON.parse(fields.data ?? 'null') })
      }
      if (stopWhen(events)) {
        controller.abort()
        break
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err
  }
  return events
}
