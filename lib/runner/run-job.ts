/**
 * One job's processing pipeline, DESIGN §6:
 *   spool file → split2 → line batcher → record batcher → sender (N in flight, unordered) → status sink
 * After split2, records travel between stages in arrays (the lines of one event-loop turn;
 * the outcomes of one turn), not one stream chunk each: see line-batcher.ts for why.
 * joined here and only here with pipeline() and an AbortSignal, so one failure or an abort
 * tears every stage down.
 *
 * run() resolves to how the run ended: every record counted ('completed'), stopped for
 * shutdown with in-flight requests finished and their outcomes stored ('drained'), or the
 * job's Redis state gone ('state_lost'). Anything else rejects.
 */
import { isStateLost } from '../errors.js'
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
import { createStatusSink, type StatusSink } from '../pipeline/status-sink.js'

export type RunEnd = 'completed' | 'drained' | 'cancelled' | 'state_lost'

/** A cancel waits this long for aborted attempts to settle and their outcomes to be stored. */
const CANCEL_FLUSH_MS = 5000

export interface RunJobOptions {
  readonly jobId: string
  readonly spec: JobSpec
  readonly spoolPath: string
  /** Skip records whose outcome is already counted (a resumed job). */
  readonly isResume: boolean
  /** Start with sending paused (a paused job resumed after a restart). */
  readonly isPaused: boolean
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
  #isPaused: boolean

  constructor (options: RunJobOptions) {
    this.jobId = options.jobId
    this.#options = options
    this.#isPaused = options.isPaused
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
      owner: this.#options.owner
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
      write: async (packed) => await outcomeStore.write(jobId, packed),
      log
    })
    if (this.#isPaused) sender.pauseSending()
    try {
      await pipeline(file, split, lines, records, sender, sink, { signal: this.#abort.signal })
      if (records.skipped > 0) log.info({ jobId, skipped: records.skipped }, 'resumed job skipped recorded outcomes')
      return this.#isCancelled ? 'cancelled' : 'completed'
    } catch (err) {
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

  get isPaused (): boolean {
    return this.#isPaused
  }

  pause (): void {
    this.#isPaused = true
    this.#sender?.pauseSending()
  }

  resume (): void {
    this.#isPaused = false
    this.#sender?.resumeSending()
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
