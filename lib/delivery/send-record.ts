/**
 * One attempt at one record: METHOD path with the payload as body and the headers of
 * DESIGN §2. Always resolves to an Outcome; the response body is drained (2xx) or its first
 * 512 bytes kept (failure), never buffered whole.
 *
 * Headers are a flat array prebuilt once per job; per record only the two record headers
 * are appended (undici accepts `string[]` pairs and skips its object walk).
 */
import type { Pool } from 'undici'
import type { JobSpec } from '../job/job-spec.js'
import type { JobRecord } from '../job/record.js'
import type { FailureReason, Outcome } from '../job/outcome.js'
import { VERSION } from '../version.js'

export const SNIPPET_BYTES = 512

export interface Attempt {
  readonly ok: boolean
  readonly status: number | null
  readonly timeMs: number
  readonly error: FailureReason | null
  readonly snippet?: string
  /** The response's Retry-After header, when it had one. */
  readonly retryAfter?: string
}

export type AttemptSender = (record: JobRecord, signal: AbortSignal) => Promise<Attempt>

export function createAttemptSender (spec: JobSpec, jobId: string, pool: Pool): AttemptSender {
  const baseHeaders = [
    'content-type', 'application/json',
    'user-agent', `chronos/${VERSION}`,
    'x-chronos-job-id', jobId
  ]
  for (const { key, value } of spec.metadata) baseHeaders.push(key, value)
  const { method, path, timeoutMs } = spec

  return async function sendAttempt (record, signal) {
    const headers = baseHeaders.concat('idempotency-key', `${jobId}:${record.id}`, 'x-chronos-record-id', record.id)
    const startedAt = performance.now()
    try {
      const response = await pool.request({
        method, path, headers, body: record.payload, signal, headersTimeout: timeoutMs, bodyTimeout: timeoutMs
      })
      const { statusCode } = response
      if (statusCode >= 200 && statusCode < 300) {
        await response.body.dump()
        return { ok: true, status: statusCode, timeMs: performance.now() - startedAt, error: null }
      }
      const snippet = await readSnippet(response.body)
      const retryAfter = response.headers['retry-after']
      const attempt: Attempt = { ok: false, status: statusCode, timeMs: performance.now() - startedAt, error: 'http_status', snippet }
      return typeof retryAfter === 'string' ? { ...attempt, retryAfter } : attempt
    } catch (err) {
      return { ok: false, status: null, timeMs: performance.now() - startedAt, error: failureReason(err, signal) }
    }
  }
}

/** The final outcome of a record from its last attempt. */
export function toOutcome (record: JobRecord, attempt: Attempt, attempts: number): Outcome {
  const outcome: Outcome = {
    index: record.index,
    idJson: record.idJson,
    ok: attempt.ok,
    status: attempt.status,
    attempts,
    timeMs: attempt.timeMs,
    error: attempt.error
  }
  return attempt.snippet === undefined || attempt.snippet === '' ? outcome : { ...outcome, snippet: attempt.snippet }
}

async function readSnippet (body: AsyncIterable<Buffer> & { destroy: (err?: Error) => unknown }): Promise<string> {
  const parts: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of body) {
      if (size < SNIPPET_BYTES) {
        parts.push(chunk.subarray(0, SNIPPET_BYTES - size))
        size += Math.min(chunk.length, SNIPPET_BYTES - size)
      }
      // Keep reading (and dropping) so the connection can be reused.
    }
  } catch {
    // A body cut short still leaves us the bytes read so far.
  }
  return Buffer.concat(parts, size).toString('utf8')
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])
const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED'
])

/** Maps undici and socket errors to reason codes (matched on `code`, never on messages). */
export function failureReason (err: unknown, signal: AbortSignal): FailureReason {
  if (signal.aborted) return 'cancelled'
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string') {
    if (code === 'target_forbidden') return 'target_forbidden'
    if (TIMEOUT_CODES.has(code)) return 'timeout'
    if (CONNECT_CODES.has(code)) return 'connect_error'
  }
  return 'request_error'
}
