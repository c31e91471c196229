/**
 * One attempt's result, and what a record's outcome is made of: the types an attempt
 * sender, the retry policy and the sender share, the body bounds, and the mapping of
 * undici and socket errors to reason codes.
 */
import type { JobRecord } from '../domain/record.js'
import type { FailureReason, Outcome } from '../domain/outcome.js'
import { tlsFailureCode } from './tls-failure.js'

export const SNIPPET_BYTES = 512
/**
 * Bounds on the body still arriving after an answer has counted. Draining lets a
 * keep-alive connection be reused; a body bigger or slower than this is not worth it, and
 * dropping the connection is cheap. The time bound is also at most half of timeout_ms:
 * the draining body keeps its pool connection, and the job's next attempt, whose deadline
 * already runs, may be waiting for that connection.
 */
export const DRAIN_MAX_BYTES = 1024 * 1024
export const DRAIN_MAX_MS = 5000

export interface Attempt {
  readonly ok: boolean
  readonly status: number | null
  readonly timeMs: number
  readonly error: FailureReason | null
  /** A failure's first response bytes, or for a `tls_error` its cause (the error's code). */
  readonly snippet?: string
  /** The response's Retry-After header, when it had one. */
  readonly retryAfter?: string
}

/**
 * Receives the attempt's result, exactly once and never synchronously from the call that
 * started it. An Error instead of an Attempt is a bug (per-record failures are Attempts)
 * and tears the pipeline down.
 */
export type AttemptCallback = (result: Attempt | Error) => void

export type AttemptSender = (record: JobRecord, signal: AbortSignal, done: AttemptCallback) => void

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

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])
const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED'
])

/** Maps undici and socket errors to reason codes (matched on `code`, never on messages). */
export function failureReason (err: unknown): FailureReason {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string') {
    if (tlsFailureCode(err) !== null) return 'tls_error'
    if (code === 'target_forbidden') return 'target_forbidden'
    if (TIMEOUT_CODES.has(code)) return 'timeout'
    if (CONNECT_CODES.has(code)) return 'connect_error'
  }
  return 'request_error'
}

/**
 * An attempt that got no answer: the reason (`abortReason` when we aborted it ourselves,
 * else from the error) and, for a tls_error, its cause.
 */
export function errorAttempt (err: unknown, timeMs: number, abortReason: FailureReason | null = null): Attempt {
  const error = abortReason ?? failureReason(err)
  const attempt: Attempt = { ok: false, status: null, timeMs, error }
  return error === 'tls_error' ? { ...attempt, snippet: tlsFailureCode(err) as string } : attempt
}
