/**
 * The consumer pool: an unordered parallel Transform from RecordBatches to arrays of
 * Outcomes in completion order (readable.map({concurrency}) keeps input order, so one slow
 * request would stall every finished one behind it). At most `maxInFlight` attempts run;
 * records are taken (and parsed) only as slots free and while the sink takes the outcomes
 * (push() said so), so backpressure reaches the disk read and no queue grows with the job.
 * Retries wait in a RetryBacklog and go before new records; SendSlots decides each start
 * (what the target allows, the job's cap, its fair share of the instance's InFlightBudget,
 * the rate gate); outcomes cross to the sink one array per event-loop turn (OutcomeGatherer).
 * pauseSending() starts nothing (rate-held starts give their slot back); stopIntake() drops
 * what has not started and ends once in-flight attempts have; abortInFlight() cancels those.
 * A record that throws becomes its own `invalid_record` outcome (issue 18 items 1-2); an
 * Error passed to the attempt callback is a bug and tears the pipeline down.
 * docs/architecture.md, "The sender", has the whole story.
 */
import { Transform, type TransformCallback } from 'node:stream'
import type { RecordBatch } from './record-batches.js'
import type { Attempt } from '../delivery/send-record.js'
import type { CircuitState } from '../delivery/circuit-breaker.js'
import { SendSlots } from './send-slots.js'
import { RetryBacklog } from './retry-backlog.js'
import { OutcomeGatherer } from './outcome-gatherer.js'
import { BatchCursor } from './batch-cursor.js'
import type { RetryDecision, SenderOptions } from './sender-options.js'
import { newWork, type Work } from './work.js'

export type { RetryDecision, SenderOptions }

export function createSender (options: SenderOptions): Sender {
  return new Sender(options)
}

export class Sender extends Transform {
  readonly #options: SenderOptions
  readonly #maxWaiting: number
  readonly #abort = new AbortController()
  /** Whether one more attempt may start: the target, the job's cap, the instance's budget, the rate limit. */
  readonly #slots: SendSlots
  /** Records waiting for a retry, and retries due (started before any new record). */
  readonly #retries: RetryBacklog<Work>
  /** Where new records are taken from. */
  readonly #cursor = new BatchCursor()
  readonly #outcomes: OutcomeGatherer
  #flushCallback: TransformCallback | null = null
  #isPumpQueued = false
  /** What the last push() said: false once the sink is backed up, until it reads again. */
  #canPush = true
  #isPaused = false
  #isStopping = false
  #hasEnded = false

  constructor (options: SenderOptions) {
    // Counted in chunks: one batch (~2,000 records) waits while another is taken from,
    // and a few outcome arrays wait for the sink (which buffers 16 more) before intake stops.
    super({ writableObjectMode: true, readableObjectMode: true, writableHighWaterMark: 1, readableHighWaterMark: 4 })
    this.#options = options
    this.#maxWaiting = options.maxWaiting ?? 4 * options.maxInFlight
    this.#slots = new SendSlots(options, {
      start: (work) => this.#attempt(work),
      wake: () => this.#queuePump(),
      requeue: (works) => this.#retries.putFirst(works),
      fail: (work, attempt) => this.#outcomes.addFinal(work.record, attempt, work.attempts)
    })
    this.#retries = new RetryBacklog(() => this.#pumpAndSettle())
    this.#outcomes = new OutcomeGatherer((outcomes) => { if (!this.destroyed) this.#canPush = this.push(outcomes) })
  }

  get inFlight (): number { return this.#slots.inFlight }

  /** The live in-flight cap: the job's concurrency, unless adaptive. */
  get concurrencyLimit (): number { return this.#slots.guard.limit.current }

  get circuit (): CircuitState { return this.#slots.guard.circuit }

  /** Records waiting for a retry timer. */
  get waiting (): number { return this.#retries.waiting }

  pauseSending (): void {
    this.#isPaused = true
    // Rate-held starts go back first, to be rescheduled through the limiter on resume.
    this.#slots.requeueRateHeld()
    this.#slots.setActive(false)
  }

  resumeSending (): void {
    this.#isPaused = false
    this.#slots.setActive(true)
    this.#pump()
  }

  stopIntake (): void {
    this.#isStopping = true
    this.#cursor.drop()
    // Waiting retries and rate-held starts never began: dropped without an outcome, so a
    // resumed job sends them again and a cancelled one counts them as unsent.
    this.#retries.clear()
    this.#slots.stop()
    this.#settle()
  }

  /** Cancel: abort every attempt in flight; each resolves as a `cancelled` outcome. */
  abortInFlight (): void {
    this.#abort.abort()
  }

  override _transform (batch: RecordBatch, _encoding: BufferEncoding, callback: TransformCallback): void {
    // Stopping: the batch is not sent and its callback never runs, so intake stays stopped.
    if (this.#isStopping) return
    this.#cursor.hold(batch, callback)
    this.#pump()
  }

  override _flush (callback: TransformCallback): void {
    this.#flushCallback = callback
    this.#settle()
  }

  override _destroy (err: Error | null, callback: (err?: Error | null) => void): void {
    this.#outcomes.cancel()
    this.#retries.clear()
    this.#slots.close()
    this.#abort.abort(err ?? undefined)
    callback(err)
  }

  /** The sink wants more: intake stopped by a backed-up sink starts again. */
  override _read (size: number): void {
    super._read(size)
    this.#canPush = true
    this.#queuePump()
  }

  #queuePump (): void {
    if (this.#isPumpQueued) return
    this.#isPumpQueued = true
    process.nextTick(() => {
      this.#isPumpQueued = false
      this.#pumpAndSettle()
    })
  }

  /**
   * Starts due retries, then new records, while there are free slots and the sink takes
   * outcomes. That second check is the backpressure: a batch holds thousands of records, so
   * a held batch callback alone would not stop intake while the sink is stuck (a Redis
   * outage); only the outcomes it has not read can.
   */
  #pump (): void {
    while (!this.#isPaused && !this.#isStopping && this.#canPush && this.#slots.take()) {
      const retry = this.#retries.shift()
      if (retry !== undefined) this.#slots.launch(retry)
      else if (!this.#startNext()) {
        this.#slots.release()
        break
      }
    }
    this.#slots.endTurn()
    if (!this.#isStopping) this.#cursor.releaseIfSpent()
  }

  /** Starts the next record of the current batch; false when none can start now. */
  #startNext (): boolean {
    if (this.#retries.waiting >= this.#maxWaiting) return false
    for (let item = this.#cursor.next(); item !== null; item = this.#cursor.next()) {
      if ('invalid' in item) this.#outcomes.addInvalid(item.index, 'null', 0)
      else {
        this.#slots.launch(newWork(item))
        return true
      }
    }
    return false
  }

  #attempt (work: Work): void {
    try {
      this.#options.attempt(work.record, this.#abort.signal, (result) => this.#onAttempt(work, result))
    } catch {
      // This record broke its attempt (house rule 4: a bad record is data). Pumping on in
      // the next tick: a run of such records must not recurse through #pump.
      work.hasThrown = true
      this.#slots.release()
      this.#outcomes.addInvalid(work.record.index, work.record.idJson, work.attempts)
      this.#queuePump()
    }
  }

  #onAttempt (work: Work, result: Attempt | Error): void {
    if (work.hasThrown) return
    this.#slots.release()
    if (result instanceof Error) return this.#failed(result)
    if (this.destroyed) return
    // A throw here is a bug of ours; inside undici's callbacks it would be swallowed.
    try {
      work.attempts++
      this.#slots.guard.settle(work, result, this.#slots.inFlight)
      const delayMs = this.#decide(work, result)
      if (delayMs !== null && !this.#isStopping) this.#retries.wait(work, delayMs)
      this.#pumpAndSettle()
    } catch (err) {
      this.#failed(err)
    }
  }

  /** Emits the record's outcome and returns null, or the delay before its next attempt. */
  #decide (work: Work, result: Attempt): number | null {
    try {
      // Attempts given back after an outage do not count against max_attempts.
      const delayMs = this.#options.retryDelayMs(result, work.attempts - work.given)
      if (delayMs === null && !this.#slots.guard.holdsForVerdict(work, result)) this.#outcomes.addFinal(work.record, result, work.attempts)
      return delayMs
    } catch {
      this.#outcomes.addInvalid(work.record.index, work.record.idJson, work.attempts)
      return null
    }
  }

  #failed (err: unknown): void {
    this.destroy(err instanceof Error ? err : new Error(String(err)))
  }

  #pumpAndSettle (): void {
    this.#pump()
    this.#settle()
  }

  /** Ends the stream once every record has its outcome (or, stopping, once in-flight ones have). */
  #settle (): void {
    if (this.#isStopping) return this.#endIfDrained()
    if (this.#flushCallback === null || this.#slots.inFlight > 0 || this.#cursor.isHolding) return
    // Nothing else will be sent: records waiting for the breaker's verdict get it now.
    if (this.#retries.isEmpty) this.#slots.guard.decideIdle()
    if (this.#retries.isEmpty && this.#slots.guard.awaiting === 0) {
      const flush = this.#flushCallback
      this.#flushCallback = null
      this.#outcomes.flush()
      flush()
    }
  }

  #endIfDrained (): void {
    if (this.#slots.inFlight > 0 || this.#hasEnded) return
    this.#hasEnded = true
    this.#outcomes.flush()
    const flush = this.#flushCallback
    this.#flushCallback = null
    // A pending _flush ends the readable side itself; otherwise end it here.
    if (flush !== null) flush()
    else this.push(null)
  }
}
