/**
 * One attempt at one record: METHOD path with the payload as body and the headers of
 * DESIGN §2, through undici's `dispatch` with a small handler object. Always ends in one
 * call of `done` with an Attempt; the response body is dropped as it streams (2xx) or its
 * first 512 bytes kept (failure), never buffered whole.
 *
 * Why dispatch and not `pool.request`: request builds a Readable body, an extra promise and
 * an abort listener per call; at ~30k records/s on one core that overhead was the largest
 * item in the CPU profile after JSON.parse (see README, Performance).
 * Why a callback and not a promise: a promise per attempt adds a promise, its resolve
 * functions, a reaction and a microtask hop — garbage that lives as long as the request
 * and was a measurable share of the young-generation GC time.
 * Why our own deadlines: undici's headersTimeout/bodyTimeout run on its coarse "fast
 * timers" (about 1 s resolution), so a timeout_ms of 200 fired after ~1 s.
 * Headers are a flat array prebuilt once per job; per record only the two record headers
 * are appended.
 */
import type { Pool } from 'undici'
import type { JobSpec } from '../domain/job-spec.js'
import type { JobRecord } from '../domain/record.js'
import type { FailureReason, Outcome } from '../domain/outcome.js'
import { VERSION } from '../version.js'
import { LiveList, type LiveItem } from './live-list.js'
import { takeSnippet } from './snippet.js'

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

/**
 * Receives the attempt's result, exactly once and never synchronously from the call that
 * started it. An Error instead of an Attempt is a bug (per-record failures are Attempts)
 * and tears the pipeline down.
 */
export type AttemptCallback = (result: Attempt | Error) => void

export type AttemptSender = (record: JobRecord, signal: AbortSignal, done: AttemptCallback) => void

const CANCELLED: Attempt = { ok: false, status: null, timeMs: 0, error: 'cancelled' }

export function createAttemptSender (spec: JobSpec, jobId: string, pool: Pool): AttemptSender {
  const baseHeaders = [
    'content-type', 'application/json',
    'user-agent', `chronos/${VERSION}`,
    'x-chronos-job-id', jobId
  ]
  for (const { key, value } of spec.metadata) baseHeaders.push(key, value)
  const { method, path, timeoutMs } = spec
  const live = new LiveList<AttemptHandler>()
  const listening = new WeakSet<AbortSignal>()
  const deadlines = new DeadlineSweeper(live, timeoutMs)

  return function sendAttempt (record, signal, done) {
    if (signal.aborted) {
      process.nextTick(done, CANCELLED)
      return
    }
    // One abort listener per job signal, not one per attempt.
    if (!listening.has(signal)) {
      listening.add(signal)
      signal.addEventListener('abort', () => { for (const handler of live.takeWhile()) handler.abort('cancelled') }, { once: true })
    }
    const handler = new AttemptHandler(timeoutMs, live, done)
    live.add(handler)
    deadlines.arm()
    const headers = baseHeaders.concat('idempotency-key', `${jobId}:${record.id}`, 'x-chronos-record-id', record.id)
    pool.dispatch({ method, path, headers, body: record.payload, headersTimeout: 0, bodyTimeout: 0 }, handler)
    handler.dispatched()
  }
}

/**
 * Enforces every live attempt's deadline from one timer that ticks while attempts are in
 * flight (at a tenth of timeout_ms, 5–250 ms), instead of a timer per attempt: a timeout
 * fires at most one tick late, and the per-record path creates no timer at all. Every
 * attempt of a job has the same timeout and the list is in start order, so the expired
 * ones are the oldest: a sweep stops at the first attempt still within its deadline.
 */
class DeadlineSweeper {
  readonly #live: LiveList<AttemptHandler>
  readonly #tickMs: number
  #timer: NodeJS.Timeout | null = null

  constructor (live: LiveList<AttemptHandler>, timeoutMs: number) {
    this.#live = live
    this.#tickMs = Math.min(Math.max(Math.floor(timeoutMs / 10), 5), 250)
  }

  arm (): void {
    if (this.#timer !== null) return
    this.#timer = setTimeout(() => this.#sweep(), this.#tickMs)
    this.#timer.unref()
  }

  #sweep (): void {
    this.#timer = null
    const now = performance.now()
    for (const handler of this.#live.takeWhile((attempt) => attempt.deadline <= now)) handler.abort('timeout')
    if (this.#live.size > 0) this.arm()
  }
}

/**
 * undici dispatch handler for one attempt; settles exactly once, leaving the live list as it
 * does. undici may fail a dispatch synchronously (a closed pool calls onError from inside
 * dispatch()); such a result is passed on in the next tick, so `done` never re-enters the
 * caller mid-call.
 * It uses undici's native handler callbacks (onConnect/onHeaders/onData/onComplete/onError):
 * the newer onRequestStart/onResponse* form is adapted to these by a wrapper object per
 * request that also parses every response's headers into an object, which we need only
 * for failures.
 */
class AttemptHandler implements LiveItem<AttemptHandler> {
  readonly deadline: number
  prev: AttemptHandler | null = null
  next: AttemptHandler | null = null
  readonly #startedAt = performance.now()
  readonly #live: LiveList<AttemptHandler>
  readonly #done: AttemptCallback
  #isDispatching = true
  #abortRequest: ((err?: Error) => void) | null = null
  #abortReason: 'timeout' | 'cancelled' | null = null
  #status = 0
  #retryAfter: string | undefined
  #snippet: Buffer[] | null = null
  #snippetBytes = 0
  #isSettled = false

  constructor (timeoutMs: number, live: LiveList<AttemptHandler>, done: AttemptCallback) {
    this.deadline = this.#startedAt + timeoutMs
    this.#live = live
    this.#done = done
  }

  /** dispatch() has returned: from now on results are passed on at once. */
  dispatched (): void {
    this.#isDispatching = false
  }

  abort (reason: 'timeout' | 'cancelled'): void {
    if (this.#isSettled || this.#abortReason !== null) return
    this.#abortReason = reason
    this.#abortRequest?.(new Error(reason))
  }

  onConnect (abort: (err?: Error) => void): void {
    this.#abortRequest = abort
    if (this.#abortReason !== null) abort(new Error(this.#abortReason))
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true // 1xx informational: the real answer follows
    this.#status = statusCode
    if (statusCode >= 300) {
      this.#snippet = []
      this.#retryAfter = findHeader(rawHeaders, 'retry-after')
    }
    return true
  }

  onData (chunk: Buffer): boolean {
    // 2xx bodies are dropped as they arrive; a failure keeps its first SNIPPET_BYTES.
    if (this.#snippet !== null && this.#snippetBytes < SNIPPET_BYTES) {
      this.#snippet.push(chunk)
      this.#snippetBytes += chunk.length
    }
    return true
  }

  onComplete (): void {
    const status = this.#status
    if (status >= 200 && status < 300) return this.#finish({ ok: true, status, timeMs: this.#elapsed(), error: null })
    const attempt: Attempt = {
      ok: false, status, timeMs: this.#elapsed(), error: 'http_status', snippet: takeSnippet(this.#snippet ?? [], SNIPPET_BYTES)
    }
    this.#finish(this.#retryAfter === undefined ? attempt : { ...attempt, retryAfter: this.#retryAfter })
  }

  onError (err: Error): void {
    this.#finish({ ok: false, status: null, timeMs: this.#elapsed(), error: this.#abortReason ?? failureReason(err) })
  }

  #elapsed (): number {
    return performance.now() - this.#startedAt
  }

  #finish (attempt: Attempt): void {
    if (this.#isSettled) return
    this.#isSettled = true
    this.#live.delete(this)
    if (this.#isDispatching) process.nextTick(this.#done, attempt)
    else this.#done(attempt)
  }
}

/** A header's value from undici's raw [name, value, name, value, …] buffers. */
function findHeader (rawHeaders: Buffer[], name: string): string | undefined {
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as Buffer).toString('latin1').toLowerCase() === name) return (rawHeaders[i + 1] as Buffer).toString('latin1')
  }
  return undefined
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

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])
const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED'
])

/** Maps undici and socket errors to reason codes (matched on `code`, never on messages). */
export function failureReason (err: unknown): FailureReason {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string') {
    if (code === 'target_forbidden') return 'target_forbidden'
    if (TIMEOUT_CODES.has(code)) return 'timeout'
    if (CONNECT_CODES.has(code)) return 'connect_error'
  }
  return 'request_error'
}
