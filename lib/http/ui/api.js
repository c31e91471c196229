// The dashboard's only way to the API: fetch() with the API key in the Authorization header
// (never in a URL), and Server-Sent Events read through fetch() streaming, because
// EventSource cannot send headers. The key lives in sessionStorage: gone with the tab.
const KEY = 'chronos.apiKey'

export class ApiError extends Error {
  constructor (status, code, message, details = []) {
    super(message)
    this.status = status
    this.code = code
    this.details = details
  }
}

export const apiKey = () => window.sessionStorage.getItem(KEY) ?? ''
export const setApiKey = (key) => key === '' ? window.sessionStorage.removeItem(KEY) : window.sessionStorage.setItem(KEY, key)

function headers (extra = {}) {
  const key = apiKey()
  return key === '' ? extra : { ...extra, authorization: `Bearer ${key}` }
}

async function toError (response) {
  const text = await response.text()
  try {
    const { error } = JSON.parse(text)
    return new ApiError(response.status, error.code, error.message, error.details)
  } catch {
    return new ApiError(response.status, 'http_error', `HTTP ${response.status}`)
  }
}

/** A JSON answer; an ApiError for any other status. */
export async function api (path, { method = 'GET' } = {}) {
  const response = await fetch(path, { method, headers: headers() })
  if (!response.ok) throw await toError(response)
  return await response.json()
}

/** Up to `count` NDJSON lines of an answer after skipping `skip`; `hasMore` if it went on. */
export async function ndjsonPage (path, skip, count, signal) {
  const response = await fetch(path, { headers: headers(), signal })
  if (!response.ok) throw await toError(response)
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
  const lines = []
  let buffered = ''
  let seen = 0
  for (;;) {
    const { value, done } = await reader.read()
    if (done) break
    buffered += value
    let newline
    while ((newline = buffered.indexOf('\n')) !== -1) {
      const line = buffered.slice(0, newline)
      buffered = buffered.slice(newline + 1)
      if (line === '') continue
      if (seen++ < skip) continue
      if (lines.length === count) {
        await reader.cancel()
        return { lines, hasMore: true }
      }
      lines.push(JSON.parse(line))
    }
  }
  return { lines, hasMore: false }
}

/**
 * Follows an SSE stream until `signal` aborts or `onEvent` returns true (the last event),
 * reconnecting with Last-Event-ID when it drops. Errors other than a dropped connection go
 * to `onError` and end it.
 */
export async function followEvents (path, onEvent, { signal, onError }) {
  let lastId = null
  let retryMs = 1000
  while (!signal.aborted) {
    try {
      const response = await fetch(path, { headers: headers(lastId === null ? {} : { 'last-event-id': lastId }), signal })
      if (!response.ok) return onError(await toError(response))
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader()
      let buffered = ''
      let frame = { event: 'message', data: [], id: null }
      for (;;) {
        const { value, done } = await reader.read()
        if (done) break
        buffered += value
        let newline
        while ((newline = buffered.indexOf('\n')) !== -1) {
          const line = buffered.slice(0, newline).replace(/\r$/, '')
          buffered = buffered.slice(newline + 1)
          if (line === '') {
            if (frame.data.length > 0) {
              if (frame.id !== null) lastId = frame.id
              if (onEvent(frame.event, JSON.parse(frame.data.join('\n'))) === true) return
            }
            frame = { event: 'message', data: [], id: null }
            continue
          }
          const colon = line.indexOf(':')
          if (colon === 0) continue
          const field = colon === -1 ? line : line.slice(0, colon)
          const text = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
          if (field === 'event') frame.event = text
          else if (field === 'data') frame.data.push(text)
          else if (field === 'id') frame.id = text
          else if (field === 'retry' && /^\d+$/.test(text)) retryMs = Number(text)
        }
      }
    } catch (err) {
      if (signal.aborted) return
      if (!(err instanceof TypeError)) return onError(err) // TypeError: the network dropped
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs))
  }
}
