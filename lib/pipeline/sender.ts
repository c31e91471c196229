/**
 * The consumer pool: an unordered parallel Transform over records, pushing Outcomes in
 * completion order (readable.map({concurrency}) keeps input order, so one slow request
 * would stall every finished one behind it).
 *
 * - At most `maxInFlight` attempts run at once. While there is room the transform calls
 *   back at once; when full it holds the callback until a slot frees, so backpressure
 *   reaches the disk read. No queue grows with the job.
 * - A retryable failure gives its slot back and waits on a timer (at most `maxWaiting`
 *   records wait at once); when due it queues ahead of new records.
 * - `rateLimiter` spaces attempt starts (retries included); a reserved start holds its slot.
 * - pauseSending() starts nothing new (in-flight attempts finish); resumeSending() carries on.
 * - stopIntake() is the shutdown drain: nothing new starts, waiting retries are dropped (their
 *   outcome is unrecorded, so a resumed job sends them again), in-flight attempts finish and
 *   are pushed, then the readable side ends so the sink can flush.
 * - destroy() aborts every in-flight attempt and clears every timer.
 *
 * `attempt` must resolve for every per-record failure; a rejection is a bug and tears the
 * pipeline down.
 */
import { Transform, type TransformCallback } from 'node:stream'
import type { Outcome } from '../job/outcome.js'
import type { JobRecord } from '../job/record.js'
import type { ParsedLine } from './record-parser.js'
import type { Attempt, AttemptSender } from '../delivery/send-record.js'
import { toOutcome } from '../delivery/send-record.js'
import type { RateLimiter } from '../delivery/rate-limiter.js'

/** Delay before attempt `attemptsMade + 1`, or null when the record is finished. */
export type RetryDecision = (attempt: Attempt, attemptsMade: number) => number | null

export interface SenderOptions {
  readonly maxInFlight: number
  readonly attempt: AttemptSender
  readonly retryDelayMs: RetryDecision
  readonly rateLimiter?: RateLimiter | undefined
  /** Records waiting for a retry at once before intake stops. @defaultValue 4 × maxInFlight */
  readonly maxWaiting?: number
}

interface Work {
  readonly record: JobRecord
  attempts: number
}

export function createSender (options: SenderOptions): Sender {
  return new Sender(options)
}

export class Sender extends Transform {
  readonly #options: SenderOptions
  readonly #maxInFlight: number
  readonly #maxWaiting: number
  readonly #abort = new AbortController()
  readonly #retryTimers = new Set<NodeJS.Timeout>()
  /** Attempts holding a slot while they wait for the rate limiter. */
  readonly #rateWaits = new Map<NodeJS.Timeout, Work>()
  /** Records due for an attempt (retries first come due here, then new ones). */
  readonly #ready: Work[] = []
  #inFlight = 0
  #waiting = 0
  #heldCallback: TransformCallback | null = null
  #flushCallback: TransformCallback | null = null
  #isPaused = false
  #isStopping = false
  #hasEnded = false

  constructor (options: SenderOptions) {
    super({
      writableObjectMode: true,
      readableObjectMode: true,
      writableHighWaterMark: Math.max(16, options.maxInFlight),
      readableHighWaterMark: Math.max(16, options.maxInFlight)
    })
    this.#options = options
    this.#maxInFlight = options.maxInFlight
    this.#maxWaiting = options.maxWaiting ?? 4 * options.maxInFlight
  }

  get inFlight (): number {
    return this.#inFlight
  }

  /** Records waiting for a retry timer. */
  get waiting (): number {
    return this.#waiting
  }

  pauseSending (): void {
    this.#isPaused = true
  }

  resumeSending (): void {
    this.#isPaused = false
    this.#pump()
  }

  stopIntake (): void {
    this.#isStopping = true
    this.#ready.length = 0
    // Waiting retries are dropped (resume re-sends them); rate-delayed starts hold a slot
    // and go ahead as in-flight work.
    clearTimers(this.#retryTimers)
    this.#waiting = 0
    this.#settle()
  }

  /** Cancel: abort every in-flight attempt; each resolves as a `cancelled` outcome. */
  abortInFlight (): void {
    this.#abort.abort()
    // Rate-delayed attempts start now, see the aborted signal and resolve as cancelled.
    for (const [timer, work] of this.#rateWaits) {
      clearTimeout(timer)
      this.#attempt(work)
    }
    this.#rateWaits.clear()
  }

  override _transform (item: ParsedLine, _encoding: BufferEncoding, callback: TransformCallback): void {
    // Stopping: the record is not sent and its callback never runs, so intake stays stopped.
    if (this.#isStopping) return
    if ('invalid' in item) {
      this.push({ index: item.index, idJson: 'null', ok: false, status: null, attempts: 0, timeMs: 0, error: 'invalid_record' } satisfies Outcome)
      return callback()
    }
    this.#ready.push({ record: item, attempts: 0 })
    this.#pump()
    if (this.#hasRoom()) callback()
    else this.#heldCallback = callback
  }

  override _flush (callback: TransformCallback): void {
    this.#flushCallback = callback
    this.#settle()
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    clearTimers(this.#retryTimers)
    clearTimers(this.#rateWaits.keys())
    this.#rateWaits.clear()
    this.#abort.abort(err ?? undefined)
    callback(err)
  }

  #hasRoom (): boolean {
    return this.#inFlight + this.#ready.length < this.#maxInFlight && this.#waiting < this.#maxWaiting
  }

  #pump (): void {
    while (!this.#isPaused && !this.#isStopping && this.#inFlight < this.#maxInFlight && this.#ready.length > 0) {
      this.#launch(this.#ready.shift() as Work)
    }
  }

  #launch (work: Work): void {
    this.#inFlight++
    const waitMs = this.#options.rateLimiter?.reserve() ?? 0
    if (waitMs <= 0) this.#attempt(work)
    else {
      const timer = setTimeout(() => {
        this.#rateWaits.delete(timer)
        this.#attempt(work)
      }, waitMs)
      this.#rateWaits.set(timer, work)
    }
  }

  #attempt (work: Work): void {
    this.#options.attempt(work.record, this.#abort.signal).then((attempt) => {
      this.#inFlight--
      if (this.destroyed) return
      work.attempts++
      const delayMs = this.#options.retryDelayMs(attempt, work.attempts)
      if (delayMs === null) {
        this.push(toOutcome(work.record, attempt, work.attempts))
      } else if (!this.#isStopping) {
        this.#waiting++
        this.#after(this.#retryTimers, delayMs, () => {
          this.#waiting--
          this.#ready.unshift(work)
          this.#pump()
          this.#settle()
        })
      }
      this.#pump()
      this.#settle()
    }, (err: unknown) => {
      this.#inFlight--
      this.destroy(err instanceof Error ? err : new Error(String(err)))
    })
  }

  /** Releases held callbacks that can now proceed, and ends the stream when it is done. */
  #settle (): void {
    if (this.#isStopping) return this.#endIfDrained()
    const held = this.#heldCallback
    if (held !== null && this.#hasRoom()) {
      this.#heldCallback = null
      held()
    }
    const isIdle = this.#inFlight === 0 && this.#waiting === 0 && this.#ready.length === 0
    if (isIdle && this.#flushCallback !== null) {
      const flush = this.#flushCallback
      this.#flushCallback = null
      flush()
    }
  }

  #endIfDrained (): void {
    if (this.#inFlight > 0 || this.#hasEnded) return
    this.#hasEnded = true
    const flush = this.#flushCallback
    this.#flushCallback = null
    // A pending _flush ends the readable side itself; otherwise end it here.
    if (flush !== null) flush()
    else this.push(null)
  }

  #after (timers: Set<NodeJS.Timeout>, delayMs: number, fn: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, delayMs)
    timers.add(timer)
  }
}

function clearTimers (timers: Iterable<NodeJS.Timeout>): void {
  for (const timer of timers) clearTimeout(timer)
  if (timers instanceof Set) timers.clear()
}
