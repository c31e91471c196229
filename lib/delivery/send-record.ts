/**
 * One attempt at one record: METHOD path with the payload as body and the headers of
 * DESIGN §2, through undici's `dispatch` with a small handler object. Always ends in one
 * call of `done` with an Attempt.
 *
 * When the answer counts (issue 18 item 10): a 2xx status is the target's answer, so the
 * attempt succeeds when its headers arrive (time_ms is headers time); a failure status
 * counts once its first SNIPPET_BYTES have arrived or its body has ended, or — if the body
 * drips — at the attempt's deadline, still as `http_status` with its status. Whatever body
 * is left is then read and dropped in the background, for at most DRAIN_MAX_BYTES and the
 * drain span; past either bound the request is aborted, which destroys its connection.
 * Nothing is ever buffered beyond the snippet.
 *
 * Why dispatch and not `pool.request`: request builds a Readable body, an extra promise and
 * an abort listener per call; at ~30k records/s on one core that overhead was the largest
 * item in the CPU profile after JSON.parse (see README, Performance).
 * Why a callback and not a promise: a promise per attempt adds a promise, its resolve
 * functions, a reaction and a microtask hop — garbage that lives as long as the request
 * and was a measurable share of the young-generation GC time.
 * Why our own deadlines: undici's headersTimeout/bodyTimeout run on its coarse "fast
 * timers" (about 1 s resolution), so a timeout_ms of 200 fired after ~1 s. The drain bound
 * reuses the same sweeper (DeadlineSweeper), so it adds no timer per request either.
 * Headers are a flat array prebuilt once per job; per record only the two record headers
 * are appended.
 */
import type { Pool } from 'undici'
import type { JobSpec } from '../domain/job-spec.js'
import type { JobRecord } from '../domain/record.js'
import type { FailureReason, Outcome } from '../domain/outcome.js'
import { VERSION } from '../version.js'
import { DeadlineSweeper, type Expiring } from './deadline-sweeper.js'
import type { LiveList } from './live-list.js'
import { takeSnippet } from './snippet.js'

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
  const tracker: AttemptTracker = { sweeper: new DeadlineSweeper(timeoutMs), timeoutMs, drainMs: Math.min(DRAIN_MAX_MS, timeoutMs / 2) }
  const listening = new WeakSet<AbortSignal>()

  return function sendAttempt (record, signal, done) {
    if (signal.aborted) {
      process.nextTick(done, CANCELLED)
      return
    }
    // One abort listener per job signal, not one per attempt. Only attempts still waiting
    // for their answer are cancelled; a draining body has already counted.
    if (!listening.has(signal)) {
      listening.add(signal)
      signal.addEventListener('abort', () => { for (const handler of tracker.sweeper.live.takeWhile()) handler.abort('cancelled') }, { once: true })
    }
    // Built before the handler is tracked: a throw here leaves nothing behind.
    const headers = baseHeaders.concat('idempotency-key', `${jobId}:${record.id}`, 'x-chronos-record-id', record.id)
    const handler = new AttemptHandler(tracker, done)
    pool.dispatch({ method, path, headers, body: record.payload, headersTimeout: 0, bodyTimeout: 0 }, handler)
    handler.dispatched()
  }
}

/** What a job's attempts share: the deadline sweeper and the spans it enforces. */
interface AttemptTracker {
  readonly sweeper: DeadlineSweeper<AttemptHandler>
  readonly timeoutMs: number
  readonly drainMs: number
}

/** Where an attempt is: waiting for its answer, answered and draining, or over. */
const LIVE = 0
const DRAINING = 1
const OVER = 2

/**
 * undici dispatch handler for one attempt; settles exactly once. It is in the sweeper's
 * `live` list until its answer counts, then in `draining` while the rest of the body is
 * dropped; late onComplete/onError calls only take it out of that list. undici may fail a
 * dispatch synchronously (a closed pool calls onError from inside dispatch()); such a
 * result is passed on in the next tick, so `done` never re-enters the caller mid-call.
 * It uses undici's native handler callbacks (onConnect/onHeaders/onData/onComplete/onError):
 * the newer onRequestStart/onResponse* form is adapted to these by a wrapper object per
 * request that also parses every response's headers into an object, which we need only
 * for failures.
 */
class AttemptHandler implements Expiring<AttemptHandler> {
  deadline: number
  prev: AttemptHandler | null = null
  next: AttemptHandler | null = null
  readonly #startedAt = performance.now()
  readonly #tracker: AttemptTracker
  readonly #done: AttemptCallback
  #phase = LIVE
  #isDispatching = true
  #abortRequest: ((err?: Error) => void) | null = null
  #abortReason: 'timeout' | 'cancelled' | null = null
  #status = 0
  #retryAfter: string | undefined
  #snippet: Buffer[] | null = null
  /** Snippet bytes while live, dropped bytes while draining. */
  #bodyBytes = 0

  constructor (tracker: AttemptTracker, done: AttemptCallback) {
    this.deadline = this.#startedAt + tracker.timeoutMs
    this.#tracker = tracker
    this.#done = done
    tracker.sweeper.live.add(this)
    tracker.sweeper.arm()
  }

  /** dispatch() has returned: from now on results are passed on at once. */
  dispatched (): void {
    this.#isDispatching = false
  }

  abort (reason: 'timeout' | 'cancelled'): void {
    if (this.#phase !== LIVE || this.#abortReason !== null) return
    this.#abortReason = reason
    this.#abortRequest?.(new Error(reason))
  }

  /** The sweeper found the deadline (or the drain bound) passed. */
  expire (): void {
    if (this.#phase === DRAINING) return this.#drop(this.#tracker.sweeper.draining)
    // A failure status whose body drips: the target has answered; that answer counts.
    if (this.#status >= 300) {
      this.#finish(this.#failure())
      return this.#drop(null)
    }
    this.abort('timeout')
  }

  onConnect (abort: (err?: Error) => void): void {
    this.#abortRequest = abort
    if (this.#abortReason !== null) abort(new Error(this.#abortReason))
  }

  onHeaders (statusCode: number, rawHeaders: Buffer[]): boolean {
    if (statusCode < 200) return true // 1xx informational: the real answer follows
    this.#status = statusCode
    if (statusCode < 300) {
      this.#answer({ ok: true, status: statusCode, timeMs: this.#elapsed(), error: null })
    } else {
      this.#snippet = []
      this.#retryAfter = findHeader(rawHeaders, 'retry-after')
    }
    return true
  }

  onData (chunk: Buffer): boolean {
    this.#bodyBytes += chunk.length
    if (this.#phase === DRAINING) {
      if (this.#bodyBytes <= DRAIN_MAX_BYTES) return true
      this.#drop(this.#tracker.sweeper.draining)
      return false
    }
    // A failure keeps its first SNIPPET_BYTES, and counts once it has them.
    if (this.#phase === LIVE && this.#snippet !== null) {
      this.#snippet.push(chunk)
      if (this.#bodyBytes >= SNIPPET_BYTES) this.#answer(this.#failure())
    }
    return true
  }

  onComplete (): void {
    if (this.#phase === LIVE) this.#finish(this.#failure())
    else if (this.#phase === DRAINING) this.#leave(this.#tracker.sweeper.draining)
  }

  onError (err: Error): void {
    if (this.#phase === LIVE) this.#finish({ ok: false, status: null, timeMs: this.#elapsed(), error: this.#abortReason ?? failureReason(err) })
    else if (this.#phase === DRAINING) this.#leave(this.#tracker.sweeper.draining)
  }

  #failure (): Attempt {
    const attempt: Attempt = {
      ok: false, status: this.#status, timeMs: this.#elapsed(), error: 'http_status', snippet: takeSnippet(this.#snippet ?? [], SNIPPET_BYTES)
    }
    return this.#retryAfter === undefined ? attempt : { ...attempt, retryAfter: this.#retryAfter }
  }

  #elapsed (): number {
    return performance.now() - this.#startedAt
  }

  /** The answer counts now; the rest of its body is dropped as it arrives, within bounds. */
  #answer (attempt: Attempt): void {
    const { sweeper, drainMs } = this.#tracker
    sweeper.live.delete(this)
    this.#phase = DRAINING
    this.#bodyBytes = 0
    this.#snippet = null
    this.deadline = performance.now() + drainMs
    sweeper.draining.add(this)
    sweeper.arm()
    this.#done(attempt)
  }

  #finish (attempt: Attempt): void {
    this.#leave(this.#tracker.sweeper.live)
    if (this.#isDispatching) process.nextTick(this.#done, attempt)
    else this.#done(attempt)
  }

  #leave (list: LiveList<AttemptHandler>): void {
    list.delete(this)
    this.#phase = OVER
  }

  /** Gives up on the body: aborting the request destroys its connection (no second outcome). */
  #drop (list: LiveList<AttemptHandler> | null): void {
    if (list !== null) this.#leave(list)
    this.#phase = OVER
    this.#abortRequest?.(new Error('body drained too long'))
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
