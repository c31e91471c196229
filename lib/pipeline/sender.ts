/**
 * The consumer pool: an unordered parallel Transform from RecordBatches to arrays of
 * Outcomes, in completion order (readable.map({concurrency}) keeps input order, so one slow
 * request would stall every finished one behind it).
 *
 * - At most `maxInFlight` attempts run at once. Records are taken from the current batch
 *   (and parsed) only as slots free and only while the sink keeps up with the outcomes;
 *   the batch's callback is held until its last record has started, so backpressure
 *   reaches the disk read. No queue grows with the job.
 * - Outcomes are pushed as one array per turn of the event loop (OutcomeGatherer).
 * - A retryable failure gives its slot back and waits (RetryBacklog; at most `maxWaiting`
 *   at once, past that no new record starts); when due it goes ahead of new records.
 * - `rateLimiter` spaces attempt starts (RateGate, retries included); a held start keeps its slot.
 * - pauseSending() starts nothing, not even a start the rate gate holds: those give back
 *   slot and reservation and go first on resumeSending() (issue 18 item 5).
 * - stopIntake() (shutdown drain, first step of a cancel): nothing new starts; waiting
 *   retries and rate-held starts are dropped without an outcome (resume sends them again,
 *   a cancelled job counts them unsent); in-flight attempts finish, then the readable ends.
 * - abortInFlight() aborts the attempts handed to `attempt`; they end `cancelled`.
 * - destroy() aborts every in-flight attempt and clears every timer.
 *
 * Anything one record throws (the `attempt` call, its retry decision) becomes that record's
 * `invalid_record` outcome and the job goes on (issue 18 items 1-2). An Error passed to the
 * callback is a bug of the attempt machinery, not of a record: it tears the pipeline down.
 */
import { Transform, type TransformCallback } from 'node:stream'
import type { JobRecord } from '../domain/record.js'
import type { RecordBatch } from './record-batches.js'
import { toOutcome, type Attempt, type AttemptSender } from '../delivery/send-record.js'
import type { RateLimiter } from '../delivery/rate-limiter.js'
import { RateGate } from './rate-gate.js'
import { RetryBacklog } from './retry-backlog.js'
import { OutcomeGatherer } from './outcome-gatherer.js'

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
  /** The record threw and has its outcome: a late callback of that attempt is ignored. */
  hasThrown: boolean
}

export function createSender (options: SenderOptions): Sender {
  return new Sender(options)
}

export class Sender extends Transform {
  readonly #options: SenderOptions
  readonly #maxInFlight: number
  readonly #maxWaiting: number
  readonly #abort = new AbortController()
  /** Spaces starts when the job has a rate limit; a held start keeps its slot. */
  readonly #rateGate: RateGate<Work> | null
  /** Records waiting for a retry, and retries due (started before any new record). */
  readonly #retries: RetryBacklog<Work>
  /** The batch new records are taken from, the position of the next one, and its callback. */
  #batch: RecordBatch | null = null
  #position = 0
  #batchCallback: TransformCallback | null = null
  readonly #outcomes: OutcomeGatherer
  #inFlight = 0
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
    this.#rateGate = options.rateLimiter === undefined ? null : new RateGate(options.rateLimiter, (work) => this.#attempt(work))
    this.#retries = new RetryBacklog(() => {
      this.#pump()
      this.#settle()
    })
    this.#outcomes = new OutcomeGatherer((outcomes) => { if (!this.destroyed) this.push(outcomes) })
  }

  get inFlight (): number {
    return this.#inFlight
  }

  /** Records waiting for a retry timer. */
  get waiting (): number {
    return this.#retries.waiting
  }

  pauseSending (): void {
    this.#isPaused = true
    // Rate-held starts go back first, to be rescheduled through the limiter on resume.
    this.#retries.putFirst(this.#takeRateHeld())
  }

  resumeSending (): void {
    this.#isPaused = false
    this.#pump()
  }

  stopIntake (): void {
    this.#isStopping = true
    this.#batch = null
    // Waiting retries and rate-held starts never began: dropped without an outcome, so a
    // resumed job sends them again and a cancelled one counts them as unsent.
    this.#retries.clear()
    this.#takeRateHeld()
    this.#settle()
  }

  /** Cancel: abort every attempt in flight; each resolves as a `cancelled` outcome. */
  abortInFlight (): void {
    this.#abort.abort()
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
    this.#outcomes.cancel()
    this.#retries.clear()
    this.#rateGate?.takeBack()
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
    this.#queuePump()
  }

  #queuePump (): void {
    if (this.#isPumpQueued) return
    this.#isPumpQueued = true
    process.nextTick(() => {
      this.#isPumpQueued = false
      this.#pump()
      this.#settle()
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
      const retry = this.#retries.shift()
      if (retry !== undefined) this.#launch(retry)
      else if (!this.#startNext()) break
    }
    this.#releaseSpentBatch()
  }

  /** Starts the next record of the current batch; false when none can start now. */
  #startNext (): boolean {
    const batch = this.#batch
    if (batch === null || this.#retries.waiting >= this.#maxWaiting) return false
    while (this.#position < batch.length) {
      const item = batch.recordAt(this.#position++)
      if (item === null) continue // already counted (a resumed job)
      if ('invalid' in item) this.#emitInvalid(item.index, 'null', 0)
      else {
        this.#launch({ record: item, attempts: 0, hasThrown: false })
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

  /** An unreadable line, or a record that threw (with the attempts it had made). */
  #emitInvalid (index: number, idJson: string, attempts: number): void {
    this.#outcomes.add({ index, idJson, ok: false, status: null, attempts, timeMs: 0, error: 'invalid_record' })
  }

  #launch (work: Work): void {
    this.#inFlight++
    if (this.#rateGate === null) this.#attempt(work)
    else this.#rateGate.admit(work)
  }

  /** Rate-held starts, in reservation order, taken back with their slots. */
  #takeRateHeld (): Work[] {
    const held = this.#rateGate?.takeBack() ?? []
    this.#inFlight -= held.length
    return held
  }

  #attempt (work: Work): void {
    try {
      this.#options.attempt(work.record, this.#abort.signal, (result) => this.#onAttempt(work, result))
    } catch {
      // This record broke its attempt (house rule 4: a bad record is data). Pumping on in
      // the next tick: a run of such records must not recurse through #pump.
      work.hasThrown = true
      this.#inFlight--
      this.#emitInvalid(work.record.index, work.record.idJson, work.attempts)
      this.#queuePump()
    }
  }

  #onAttempt (work: Work, result: Attempt | Error): void {
    if (work.hasThrown) return
    this.#inFlight--
    if (result instanceof Error) return this.#failed(result)
    if (this.destroyed) return
    // A throw here is a bug of ours; inside undici's callbacks it would be swallowed.
    try {
      work.attempts++
      const delayMs = this.#decide(work, result)
      if (delayMs !== null && !this.#isStopping) this.#retries.wait(work, delayMs)
      this.#pump()
      this.#settle()
    } catch (err) {
      this.#failed(err)
    }
  }

  /** Emits the record's outcome and returns null, or the delay before its next attempt. */
  #decide (work: Work, result: Attempt): number | null {
    try {
      const delayMs = this.#options.retryDelayMs(result, work.attempts)
      if (delayMs === null) this.#outcomes.add(toOutcome(work.record, result, work.attempts))
      return delayMs
    } catch {
      this.#emitInvalid(work.record.index, work.record.idJson, work.attempts)
      return null
    }
  }

  #failed (err: unknown): void {
    this.destroy(err instanceof Error ? err : new Error(String(err)))
  }

  /** Ends the stream once every record has its outcome (or, stopping, once in-flight ones have). */
  #settle (): void {
    if (this.#isStopping) return this.#endIfDrained()
    const isIdle = this.#inFlight === 0 && this.#retries.isEmpty && this.#batch === null
    if (isIdle && this.#flushCallback !== null) {
      const flush = this.#flushCallback
      this.#flushCallback = null
      this.#outcomes.flush()
      flush()
    }
  }

  #endIfDrained (): void {
    if (this.#inFlight > 0 || this.#hasEnded) return
    this.#hasEnded = true
    this.#outcomes.flush()
    const flush = this.#flushCallback
    this.#flushCallback = null
    // A pending _flush ends the readable side itself; otherwise end it here.
    if (flush !== null) flush()
    else this.push(null)
  }
}
