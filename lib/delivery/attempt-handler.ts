/**
 * The undici dispatch handler for one attempt, and what a job's attempts share (the
 * deadline sweeper and the spans it enforces). See send-record.ts for why dispatch and
 * callbacks rather than request() and promises.
 */
import { errorAttempt, SNIPPET_BYTES, DRAIN_MAX_BYTES, type Attempt, type AttemptCallback } from './attempt.js'
import type { DeadlineSweeper, Expiring } from './deadline-sweeper.js'
import type { LiveList } from './live-list.js'
import { takeSnippet } from './snippet.js'

/** What a job's attempts share: the deadline sweeper and the spans it enforces. */
export interface AttemptTracker {
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
export class AttemptHandler implements Expiring<AttemptHandler> {
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
    if (this.#phase === LIVE) this.#finish(errorAttempt(err, this.#elapsed(), this.#abortReason))
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
