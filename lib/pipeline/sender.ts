/**
 * The consumer pool: an unordered parallel Transform from RecordBatches to arrays of
 * Outcomes, in completion order (readable.map({concurrency}) keeps input order, so one slow
 * request would stall every finished one behind it).
 *
 * - At most `maxInFlight` attempts run at once. Records are taken from the current batch
 *   (and parsed) only as slots free and only while the sink keeps up with the outcomes;
 *   the batch's callback is held until its last record has started, so backpressure
 *   reaches the disk read. No queue grows with the job.
 * - Outcomes are gathered and pushed as one array per turn of the event loop
 *   (setImmediate): the responses read in one poll phase cross to the sink in one hop.
 * - A retryable failure gives its slot back and waits on a timer (at most `maxWaiting`
 *   records wait at once; past that no new record starts); when due it goes ahead of new
 *   records.
 * - `rateLimiter` spaces attempt starts (retries included); a reserved start holds its slot.
 * - pauseSending() starts nothing new (in-flight attempts finish); resumeSending() carries on.
 * - stopIntake() is the shutdown drain: nothing new starts, waiting retries are dropped (their
 *   outcome is unrecorded, so a resumed job sends them again), in-flight attempts finish and
 *   are pushed, then the readable side ends so the sink can flush.
 * - destroy() aborts every in-flight attempt and clears every timer.
 *
 * `attempt` reports every per-record failure as an Attempt; a throw, or an Error passed to
 * its callback, is a bug and tears the pipeline down.
 */
import { Transform, type TransformCallback } from 'node:stream'
import type { Outcome } from '../domain/outcome.js'
import type { JobRecord } from '../domain/record.js'
import type { InvalidLine, RecordBatch } from './record-batches.js'
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
  /** Records waiting for a retry at once before new records stop starting. @defaultValue 4 × maxInFlight */
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
  /** Retries whose delay is over, started before any new record. */
  readonly #dueRetries: Work[] = []
  /** The batch new records are taken from, the position of the next one, and its callback. */
  #batch: RecordBatch | null = null
  #position = 0
  #batchCallback: TransformCallback | null = null
  /** Outcomes to push at the next setImmediate. */
  #outcomes: Outcome[] = []
  #pushTimer: NodeJS.Immediate | null = null
  #inFlight = 0
  #waiting = 0
  #flushCallback: TransformCallback | null = null
  #isPumpQueued = false
  #isPaused = false
  #isStopping = false
  #hasEnded = false

  constructor (options: SenderOptions) {
    super({
      writableObjectMode: true,
      readableObjectMode: true,
      // Counted in chunks: one batch (~2,000 records) waits while another is taken from,
      // and a few outcome arrays wait for the sink (which buffers 16 more) before intake stops.
      writableHighWaterMark: 1,
      readableHighWaterMark: 4
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
    this.#dueRetries.length = 0
    this.#batch = null
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

  override _transform (batch: RecordBatch, _encoding: BufferEncoding, callback: TransformCallback): void {
    // Stopping: the batch is not sent and its callback never runs, so intake stays stopped.
    if (this.#isStopping) return
    this.#batch = batch
    this.#position = 0
    this.#batchCallback = callback
    this.#pump()
  }

  override _flush (callback: TransformCallback): void {
    this.#flushCallback = callback
    this.#settle()
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    if (this.#pushTimer !== null) clearImmediate(this.#pushTimer)
    clearTimers(this.#retryTimers)
    clearTimers(this.#rateWaits.keys())
    this.#rateWaits.clear()
    this.#abort.abort(err ?? undefined)
    callback(err)
  }

  /**
   * The sink reads on. Readable calls _read before it takes the chunk being read off the
   * buffer, so the buffer still looks full here: pump once that chunk is gone (next tick).
   * Without this, intake stopped by a backed-up sink would never start again.
   */
  override _read (size: number): void {
    super._read(size)
    if (this.#isPumpQueued) return
    this.#isPumpQueued = true
    process.nextTick(() => {
      this.#isPumpQueued = false
      this.#pump()
    })
  }

  /**
   * Starts due retries, then new records, while there are free slots and the readable side
   * is not backed up. That second check is the backpressure: a batch holds thousands of
   * records, so a held batch callback alone would not stop intake while the sink is stuck
   * (a Redis outage) — only the outcomes still unread by the sink can.
   */
  #pump (): void {
    while (!this.#isPaused && !this.#isStopping && this.#inFlight < this.#maxInFlight &&
      this.readableLength < this.readableHighWaterMark) {
      const retry = this.#dueRetries.shift()
      if (retry !== undefined) this.#launch(retry)
      else if (!this.#startNext()) break
    }
    this.#releaseSpentBatch()
  }

  /** Starts the next record of the current batch; false when none can start now. */
  #startNext (): boolean {
    const batch = this.#batch
    if (batch === null || this.#waiting >= this.#maxWaiting) return false
    while (this.#position < batch.length) {
      const item = batch.recordAt(this.#position++)
      if (item === null) continue // already counted (a resumed job)
      if ('invalid' in item) this.#emitInvalid(item)
      else {
        this.#launch({ record: item, attempts: 0 })
        return true
      }
    }
    return false
  }

  /** Once every record of the batch has started, asks for the next batch. */
  #releaseSpentBatch (): void {
    const batch = this.#batch
    if (batch === null || this.#position < batch.length || this.#isStopping) return
    this.#batch = null
    const callback = this.#batchCallback
    this.#batchCallback = null
    // Last: the next batch may arrive synchronously and pump again.
    callback?.()
  }

  #emitInvalid (line: InvalidLine): void {
    this.#emit({ index: line.index, idJson: 'null', ok: false, status: null, attempts: 0, timeMs: 0, error: 'invalid_record' })
  }

  #emit (outcome: Outcome): void {
    this.#outcomes.push(outcome)
    this.#pushTimer ??= setImmediate(() => {
      this.#pushTimer = null
      this.#pushOutcomes()
    })
  }

  #pushOutcomes (): void {
    if (this.#outcomes.length === 0 || this.destroyed) return
    const outcomes = this.#outcomes
    this.#outcomes = []
    this.push(outcomes)
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
    try {
      this.#options.attempt(work.record, this.#abort.signal, (result) => this.#onAttempt(work, result))
    } catch (err) {
      this.#failed(err)
    }
  }

  #onAttempt (work: Work, result: Attempt | Error): void {
    this.#inFlight--
    if (result instanceof Error) return this.#failed(result)
    if (this.destroyed) return
    // A throw here is a bug of ours; inside undici's callbacks it would be swallowed.
    try {
      work.attempts++
      const delayMs = this.#options.retryDelayMs(result, work.attempts)
      if (delayMs === null) {
        this.#emit(toOutcome(work.record, result, work.attempts))
      } else if (!this.#isStopping) {
        this.#waiting++
        this.#after(this.#retryTimers, delayMs, () => {
          this.#waiting--
          this.#dueRetries.push(work)
          this.#pump()
          this.#settle()
        })
      }
      this.#pump()
      this.#settle()
    } catch (err) {
      this.#failed(err)
    }
  }

  #failed (err: unknown): void {
    this.destroy(err instanceof Error ? err : new Error(String(err)))
  }

  /** Ends the stream once every record has its outcome (or, stopping, once in-flight ones have). */
  #settle (): void {
    if (this.#isStopping) return this.#endIfDrained()
    const isIdle = this.#inFlight === 0 && this.#waiting === 0 && this.#dueRetries.length === 0 && this.#batch === null
    if (isIdle && this.#flushCallback !== null) {
      const flush = this.#flushCallback
      this.#flushCallback = null
      this.#pushOutcomes()
      flush()
    }
  }

  #endIfDrained (): void {
    if (this.#inFlight > 0 || this.#hasEnded) return
    this.#hasEnded = true
    this.#pushOutcomes()
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
