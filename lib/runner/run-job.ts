/**
 * One job's processing pipeline, DESIGN §6:
 *   spool file → split2 → line batcher → record batcher → sender (N in flight, unordered) → status sink
 * After split2, records travel between stages in arrays (the lines of one event-loop turn;
 * the outcomes of one turn), not one stream chunk each: see line-batcher.ts for why.
 * joined here and only here with pipeline() and an AbortSignal, so one failure or an abort
 * tears every stage down.
 *
 * run() resolves to how the run ended: every record counted ('completed'), stopped for
 * shutdown or pause with in-flight requests finished and their outcomes stored ('drained'),
 * the job's Redis state gone ('state_lost'), or the job taken over by another instance
 * ('fenced': its lease was lost, or a write was refused for an old fencing token; nothing
 * more is written). Anything else rejects.
 */
import { isFenced, isStateLost } from '../errors.js'
import { pipeline } from 'node:stream/promises'
import { once } from 'node:events'
import type { JobSpec } from '../domain/job-spec.js'
import type { Outcome } from '../domain/outcome.js'
import type { Logger } from '../logger.js'
import { OutcomeStore } from '../store/outcome-store.js'
import { createJobPool, type ConnectorFactory } from '../delivery/http-pools.js'
import { createAttemptSender } from '../delivery/send-record.js'
import { retryDelayMs } from '../delivery/retry-policy.js'
import { RateLimiter } from '../delivery/rate-limiter.js'
import { openSpoolLines } from '../spool/spool-reader.js'
import { createRecordBatcher, type RecordBatcherOptions } from '../pipeline/record-batches.js'
import { createSender, type Sender } from '../pipeline/sender.js'
import type { InFlightBudget } from '../pipeline/in-flight-budget.js'
import type { CircuitState } from '../delivery/circuit-breaker.js'
import { createStatusSink, type StatusSink } from '../pipeline/status-sink.js'

export type RunEnd = 'completed' | 'drained' | 'cancelled' | 'state_lost' | 'fenced'

/** A cancel waits this long for aborted attempts to settle and their outcomes to be stored. */
const CANCEL_FLUSH_MS = 5000

export interface RunJobOptions {
  readonly jobId: string
  readonly spec: JobSpec
  readonly spoolPath: string
  /** Skip records whose outcome is already counted (a resumed job). */
  readonly isResume: boolean
  /** The fencing token of this instance's lease on the job, sent with every outcome write. */
  readonly fence?: number
  readonly maxLineBytes: number
  readonly outcomeBatchSize: number
  readonly flushIntervalMs: number
  readonly outcomeStore: OutcomeStore
  readonly createConnector: ConnectorFactory
  readonly onOutcome?: ((outcome: Outcome) => void) | undefined
  /** The instance's in-flight budget, shared fairly with its other running jobs. @defaultValue none */
  readonly budget?: InFlightBudget | undefined
  /** The job's API key fingerprint ('' when the API is open): its share of the budget counts under it. */
  readonly owner?: string | undefined
  /** How long the circuit may stay open before the job pauses (CHRONOS_CIRCUIT_MAX_OPEN_MS). @defaultValue 1 hour */
  readonly circuitMaxOpenMs?: number | undefined
  /** The job's circuit changed state. */
  readonly onCircuit?: ((state: CircuitState) => void) | undefined
  /** The circuit has been open `circuitMaxOpenMs`: the job should pause. */
  readonly onCircuitStuck?: (() => void) | undefined
  readonly log: Logger
}

export class JobRun {
  readonly jobId: string
  readonly #options: RunJobOptions
  readonly #abort = new AbortController()
  #sender: Sender | null = null
  #sink: StatusSink | null = null
  #isDraining = false
  #isCancelled = false
  #isFenced = false
  #isPaused = false

  constructor (options: RunJobOptions) {
    this.jobId = options.jobId
    this.#options = options
  }

  async run (): Promise<RunEnd> {
    const { jobId, spec, outcomeStore, log } = this.#options
    const pool = createJobPool(spec, this.#options.createConnector(spec))
    const sendAttempt = createAttemptSender(spec, jobId, pool)
    const { file, split, lines } = openSpoolLines(this.#options.spoolPath, this.#options.maxLineBytes)
    const batcherOptions: RecordBatcherOptions = this.#options.isResume
      ? { readDoneBits: async (first, bytes) => await outcomeStore.readDoneBits(jobId, first, bytes) }
      : {}
    const records = createRecordBatcher(batcherOptions)
    const sender = this.#sender = createSender({
      maxInFlight: spec.concurrency,
      attempt: sendAttempt,
      retryDelayMs: (attempt, attemptsMade) => retryDelayMs(attempt, attemptsMade, spec.maxAttempts),
      rateLimiter: spec.rateLimit === null ? undefined : new RateLimiter(spec.rateLimit, spec.rateBurst ?? 1),
      budget: this.#options.budget,
      owner: this.#options.owner,
      isAdaptive: spec.adaptiveConcurrency,
      maxOpenMs: this.#options.circuitMaxOpenMs,
      onCircuit: this.#options.onCircuit,
      onCircuitStuck: this.#options.onCircuitStuck
    })
    const sink = this.#sink = createStatusSink({
      batchSize: this.#options.outcomeBatchSize,
      flushIntervalMs: this.#options.flushIntervalMs,
      pack: this.#options.onOutcome === undefined
        ? OutcomeStore.pack
        : (outcome) => {
            this.#options.onOutcome?.(outcome)
            return OutcomeStore.pack(outcome)
          },
      write: async (packed) => await outcomeStore.write(jobId, packed, this.#options.fence),
      log
    })
    if (this.#isPaused) sender.pauseSending()
    try {
      await pipeline(file, split, lines, records, sender, sink, { signal: this.#abort.signal })
      if (records.skipped > 0) log.info({ jobId, skipped: records.skipped }, 'resumed job skipped recorded outcomes')
      // A drain whose sender had nothing in flight ends the pipeline cleanly, not by abort:
      // still a drain (a rate-limited job paused between two starts), or the job would end
      // `completed` with records unsent. If every record was in fact done, the next run finds
      // them all counted and completes it.
      if (this.#isCancelled) return 'cancelled'
      return this.#isDraining ? 'drained' : 'completed'
    } catch (err) {
      if (this.#isFenced || isFenced(err)) return 'fenced'
      if (isStateLost(err)) return 'state_lost'
      if (this.#isCancelled) return 'cancelled'
      if (this.#isDraining) return 'drained'
      throw err
    } finally {
      await pool.destroy()
    }
  }

  get inFlight (): number {
    return this.#sender?.inFlight ?? 0
  }

  /** The live in-flight limit (the spec's concurrency until the run starts, or without adaptive concurrency). */
  get concurrencyLimit (): number {
    return this.#sender?.concurrencyLimit ?? this.#options.spec.concurrency
  }

  get circuit (): CircuitState {
    return this.#sender?.circuit ?? 'closed'
  }

  get isPaused (): boolean {
    return this.#isPaused
  }

  /** Starts nothing more from now on; drain() then lets what is in flight finish. */
  pause (): void {
    this.#isPaused = true
    this.#sender?.pauseSending()
  }

  /**
   * The lease is lost: another instance runs the job now, or may. Everything stops at once:
   * in-flight requests are aborted, and the sink's last write carries the old fencing token,
   * so it counts only if nobody took the job over meanwhile.
   */
  abandon (): void {
    this.#isFenced = true
    this.#abort.abort()
  }

  /**
   * Cancel: from now on no request starts; in-flight ones are aborted and recorded as
   * `cancelled`; the stored outcomes are flushed. Resolves once the run has wound down.
   */
  async cancel (): Promise<void> {
    this.#isCancelled = true
    await this.#windDown(true, CANCEL_FLUSH_MS)
  }

  /**
   * Shutdown: start no new request, let in-flight ones finish, store their outcomes, then
   * stop the run. After `graceMs` the run is torn down: requests still in flight are
   * aborted without an outcome, so they are sent again on resume (at-least-once).
   */
  async drain (graceMs: number): Promise<void> {
    this.#isDraining = true
    await this.#windDown(false, graceMs)
  }

  async #windDown (shouldAbortInFlight: boolean, waitMs: number): Promise<void> {
    const sender = this.#sender
    const sink = this.#sink
    if (sender === null || sink === null || sink.writableFinished || waitMs === 0) return this.#abort.abort()
    sender.stopIntake()
    // Aborted attempts resolve as 'cancelled' outcomes, which the sink then stores.
    if (shouldAbortInFlight) sender.abortInFlight()
    const timer = setTimeout(() => this.#abort.abort(), waitMs)
    try {
      await once(sink, 'finish', { signal: this.#abort.signal })
    } catch {
      // Torn down by the timer or by an error: nothing more to wait for.
    } finally {
      clearTimeout(timer)
      this.#abort.abort()
    }
  }
}
