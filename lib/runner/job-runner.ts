/**
 * Owns the jobs this instance runs: a FIFO queue, at most `maxActiveJobs` running at once,
 * resume of this instance's unfinished jobs at start (and of jobs Redis forgot: see
 * job-recovery.ts), pause, resume, cancel and the shutdown drain. How a job ends is
 * job-ending.ts; one job's pipeline is run-job.ts.
 */
import type { JobsConfig, UploadConfig } from '../config.js'
import type { Logger } from '../logger.js'
import type { JobStore } from '../store/job-store.js'
import type { OutcomeStore } from '../store/outcome-store.js'
import { parseJobSpec, type JobSpec, type JobSpecLimits, type JobSpecResult } from '../domain/job-spec.js'
import { JobRun } from './run-job.js'
import { JobEnding } from './job-ending.js'
import type { ConnectorFactory } from '../delivery/http-pools.js'
import type { Outcome } from '../domain/outcome.js'
import type { JobMeta } from '../domain/job-meta.js'
import { JobRecovery } from './job-recovery.js'
import { markReceiptStarted } from '../spool/job-receipt.js'
import { InFlightBudget } from '../pipeline/in-flight-budget.js'

/** Runs in a row that the process died under without progress before a job is quarantined. */
const POISON_STRIKES = 2

export interface JobRunnerDeps {
  readonly jobs: JobsConfig
  readonly upload: UploadConfig
  readonly specLimits: JobSpecLimits
  readonly jobStore: JobStore
  readonly outcomeStore: OutcomeStore
  readonly createConnector: ConnectorFactory
  /** POSTs the final status object to the job's callback_url (never rejects). */
  readonly sendCallback?: (jobId: string, spec: JobSpec, statusJson: string, log: Logger) => Promise<unknown>
  /** Sees every outcome as it reaches the sink (metrics). */
  readonly onOutcome?: (outcome: Outcome) => void
  readonly log: Logger
}

export class JobRunner {
  readonly #deps: JobRunnerDeps
  readonly #queue: string[] = []
  readonly #active = new Map<string, JobRun | null>()
  readonly #settled = new Map<string, Promise<void>>()
  readonly #cancelRequested = new Set<string>()
  readonly #ending: JobEnding
  /** CHRONOS_MAX_IN_FLIGHT, shared fairly by the running jobs (in-flight-budget.ts). */
  readonly #budget: InFlightBudget
  #isClosing = false
  readonly #recovery: JobRecovery

  constructor (deps: JobRunnerDeps) {
    this.#deps = deps
    this.#ending = new JobEnding(deps)
    this.#budget = new InFlightBudget(deps.jobs.maxInFlight)
    this.#recovery = new JobRecovery({ spoolDir: deps.upload.spoolDir, instanceId: deps.jobs.instanceId, jobStore: deps.jobStore, log: deps.log })
  }

  get activeCount (): number {
    return this.#active.size
  }

  get queuedCount (): number {
    return this.#queue.length
  }

  /** Requests in flight across this instance's jobs. */
  get inFlight (): number {
    let total = 0
    for (const run of this.#active.values()) total += run?.inFlight ?? 0
    return total
  }

  jobsByState (): Record<string, number> {
    let paused = 0
    for (const run of this.#active.values()) if (run?.isPaused === true) paused++
    return { queued: this.#queue.length, running: this.#active.size - paused, paused }
  }

  enqueue (jobId: string): void {
    if (this.#isClosing || this.#active.has(jobId) || this.#queue.includes(jobId)) return
    this.#queue.push(jobId)
    this.#pump()
  }

  /**
   * Queues every unfinished job this instance owns, oldest first, and every job of the spool
   * dir that Redis lost before it started (job-recovery.ts).
   */
  async resumeOwned (): Promise<number> {
    const jobs = await this.#deps.jobStore.listOwned(this.#deps.jobs.instanceId)
    for (const job of jobs) this.enqueue(job.meta.jobId)
    if (jobs.length > 0) this.#deps.log.info({ jobs: jobs.length }, 'resuming unfinished jobs')
    for (const jobId of await this.#recovery.sweep()) this.enqueue(jobId)
    return jobs.length
  }

  /**
   * Redis is back after an outage: queued jobs it forgot are registered again from their
   * receipts now, so their status answers at once rather than when a slot frees.
   */
  async reconcileQueued (): Promise<void> {
    for (const jobId of [...this.#queue]) {
      if (await this.#deps.jobStore.get(jobId) === null) await this.#recovery.recover(jobId)
    }
    for (const jobId of await this.#recovery.sweep()) this.enqueue(jobId)
  }

  /** Whether this runner holds the job (queued or active). */
  has (jobId: string): boolean {
    return this.#active.has(jobId) || this.#queue.includes(jobId)
  }

  /**
   * Cancels a queued or active job: no request starts after this resolves' caller answers,
   * in-flight requests are aborted, and the job ends `cancelled`.
   */
  async cancel (jobId: string): Promise<void> {
    const queued = this.#queue.indexOf(jobId)
    if (queued >= 0) this.#queue.splice(queued, 1)
    this.#cancelRequested.add(jobId)
    const run = this.#active.get(jobId)
    if (run !== undefined && run !== null) await run.cancel()
    await this.whenSettled(jobId)
    if (!this.#active.has(jobId)) {
      // Never started (queued or paused before it ran): end it here, callback included.
      const job = await this.#deps.jobStore.get(jobId)
      if (job !== null && job.meta.finishedAt === null) {
        const parsed = this.#specOf(job.meta)
        await this.#ending.finish(jobId, 'cancelled', job.meta.spoolPath, parsed.ok ? parsed.spec : null, this.#deps.log.child({ jobId }))
      }
    }
    this.#cancelRequested.delete(jobId)
  }

  /** Pauses sending: in-flight requests finish, nothing new starts until resume. */
  async pause (jobId: string): Promise<void> {
    const queued = this.#queue.indexOf(jobId)
    if (queued >= 0) this.#queue.splice(queued, 1)
    this.#active.get(jobId)?.pause()
    await this.#deps.jobStore.setLiveState(jobId, 'paused')
    // A paused job makes no progress by design: no crash strike while it waits.
    await this.#deps.jobStore.closeRun(jobId)
  }

  async resume (jobId: string): Promise<void> {
    const run = this.#active.get(jobId)
    if (run !== undefined && run !== null) {
      await this.#deps.jobStore.setLiveState(jobId, 'running')
      await this.#deps.jobStore.openRun(jobId)
      run.resume()
      return
    }
    await this.#deps.jobStore.setLiveState(jobId, 'queued')
    this.enqueue(jobId)
  }

  /** Resolves once the job has ended or been drained (tests and shutdown use it). */
  async whenSettled (jobId: string): Promise<void> {
    await this.#settled.get(jobId)
  }

  /** Stops starting jobs and drains the running ones within `graceMs`. */
  async close (graceMs: number): Promise<void> {
    this.#isClosing = true
    this.#queue.length = 0
    await Promise.all([...this.#active.values()].map(async (run) => await run?.drain(graceMs)))
    await Promise.all(this.#settled.values())
    await this.#ending.flush()
  }

  #pump (): void {
    while (!this.#isClosing && this.#active.size < this.#deps.jobs.maxActiveJobs && this.#queue.length > 0) {
      const jobId = this.#queue.shift() as string
      this.#active.set(jobId, null)
      const settled = this.#runJob(jobId)
        .catch((err: unknown) => this.#deps.log.error({ err, jobId }, 'job runner failed'))
        .finally(() => {
          this.#active.delete(jobId)
          this.#settled.delete(jobId)
          this.#pump()
        })
      this.#settled.set(jobId, settled)
    }
  }

  async #runJob (jobId: string): Promise<void> {
    const { jobStore, log: rootLog } = this.#deps
    const log = rootLog.child({ jobId })
    let job = await jobStore.get(jobId)
    if (job === null && await this.#recovery.recover(jobId) === 'registered') job = await jobStore.get(jobId)
    if (job === null) return
    const { meta, counts } = job
    const spoolPath = meta.spoolPath
    const parsed = this.#specOf(meta)
    if (!parsed.ok) return await this.#ending.fail(jobId, spoolPath, { code: 'invalid_config', message: parsed.problems.join('; ') })
    if (this.#isClosing || this.#cancelRequested.has(jobId)) return
    if (meta.state !== 'paused' && await jobStore.openRun(jobId) >= POISON_STRIKES) {
      log.error({ strikes: POISON_STRIKES }, 'job quarantined: it crashed the process on resume')
      return await this.#ending.fail(jobId, spoolPath, { code: 'poison_job', message: 'the process died twice while resuming this job, without progress; it is not run again' })
    }
    const isResume = counts.count > 0
    const startedAt = meta.startedAt ?? new Date().toISOString()
    if (meta.startedAt === null) await markReceiptStarted(this.#deps.upload.spoolDir, jobId, startedAt)
    if (meta.state !== 'paused') await jobStore.markRunning(jobId, startedAt)
    log.info({ total: meta.total, isResume, concurrency: parsed.spec.concurrency }, 'job started')

    const run = new JobRun({
      jobId,
      spec: parsed.spec,
      spoolPath,
      isResume,
      isPaused: meta.state === 'paused',
      maxLineBytes: this.#deps.upload.maxLineBytes,
      outcomeBatchSize: this.#deps.jobs.outcomeBatchSize,
      flushIntervalMs: this.#deps.jobs.flushIntervalMs,
      outcomeStore: this.#deps.outcomeStore,
      createConnector: this.#deps.createConnector,
      onOutcome: this.#deps.onOutcome,
      budget: this.#budget,
      owner: meta.owner,
      log
    })
    this.#active.set(jobId, run)
    const startMs = performance.now()
    let end
    try {
      end = await run.run()
    } catch (err) {
      // The job ends here with what it counted (the sink stored what it held); the process
      // and every other job go on.
      return await this.#ending.failRun(jobId, spoolPath, err, log)
    }
    const durationMs = Math.round(performance.now() - startMs)
    if (end === 'drained') {
      await jobStore.closeRun(jobId)
      log.info({ durationMs }, 'job drained for shutdown')
      return
    }
    if (end === 'state_lost') {
      log.error({ durationMs }, 'job state lost in redis')
      return await this.#ending.stateLost(meta)
    }
    await this.#ending.finish(jobId, end, spoolPath, parsed.spec, log)
    log.info({ durationMs, state: end }, 'job ended')
  }

  /** The JobSpec stored with a job (wire form, validated again: limits may have changed). */
  #specOf (meta: JobMeta): JobSpecResult {
    return parseJobSpec(JSON.parse(meta.specJson), this.#deps.specLimits)
  }
}
