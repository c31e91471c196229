/**
 * The bench's own HTTP calls: stream an upload file as a POST body, and small JSON reads.
 *
 * The upload is streamed from disk (never read whole) with an explicit content-length,
 * and timed to the response head: the 202 is the moment the server says "durable".
 * Every call has a timeout so a hung server fails the run instead of the bench.
 */
import { createReadStream } from 'node:fs'
import { request } from 'undici'

export interface HttpAnswer {
  status: number
  /** Milliseconds from sending the request to receiving the response head. */
  ms: number
  body: unknown
}

function parseBody (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}

/** A file to upload: its path, size and Content-Type (make-fixture.ts's Fixture is one). */
export interface UploadFile {
  file: string
  bytes: number
  contentType: string
}

export async function postFile (url: string, upload: UploadFile, timeoutMs: number): Promise<HttpAnswer> {
  const startedAt = performance.now()
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': upload.contentType, 'content-length': String(upload.bytes) },
    body: createReadStream(upload.file, { highWaterMark: 256 * 1024 }),
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs
  })
  const ms = performance.now() - startedAt
  return { status: res.statusCode, ms, body: parseBody(await res.body.text()) }
}

export async function callJson (method: 'GET' | 'DELETE', url: string, timeoutMs: number): Promise<HttpAnswer> {
  const startedAt = performance.now()
  const res = await request(url, { method, headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
  const ms = performance.now() - startedAt
  return { status: res.statusCode, ms, body: parseBody(await res.body.text()) }
}
