/**
 * Runs the jobs this instance holds a lease on (docs/scale-out.md): at most `maxActiveJobs`
 * at once, each under a LeaseKeeper. Which jobs it takes is job-claimer.ts; cancel, pause
 * and resume asked on any instance are job-control.ts; how a job ends is job-ending.ts; one
 * job's pipeline is run-job.ts. Jobs Redis forgot, and live jobs nobody queued or leases,
 * are found in the spool dir (job-recovery.ts).
 */
import type { JobsConfig, UploadConfig } from '../config.js'
import type { Logger } from '../logger.js'
import type { JobStore } from '../store/job-store.js'
import type { OutcomeStore } from '../store/outcome-store.js'
import type { Lease, LeaseStore } from '../store/lease-store.js'
import type { ControlChannel } from '../store/control-channel.js'
import { parseJobSpec, type JobSpec, type JobSpecLimits, type JobSpecResult } from '../domain/job-spec.js'
import { submittedAtMs, type JobMeta } from '../domain/job-meta.js'
import type { Outcome } from '../domain/outcome.js'
import type { ConnectorFactory } from '../delivery/http-pools.js'
import { markReceiptStarted } from '../spool/job-receipt.js'
import { JobRun } from './run-job.js'
import { JobEnding } from './job-ending.js'
import { JobRecovery } from './job-recovery.js'
import { JobClaimer, type Claim } from './job-claimer.js'
import { LeaseKeeper } from './lease-keeper.js'
import { ActiveJobs, type ActiveJob } from './active-jobs.js'

/** Runs in a row that the process died under without progress before a job is quarantined. */
const POISON_STRIKES = 2

export interface JobRunnerDeps {
  readonly jobs: JobsConfig
  readonly upload: UploadConfig
  readonly specLimits: JobSpecLimits
  readonly jobStore: JobStore
  readonly outcomeStore: OutcomeStore
  readonly leaseStore: LeaseStore
  readonly channel: ControlChannel
  readonly createConnector: ConnectorFactory
  /** How long a pause waits for in-flight requests before it stops them (they are sent again on resume). */
  readonly pauseGraceMs: number
  /** POSTs the final status object to the job's callback_url (never rejects). */
  readonly sendCallback?: (jobId: string, spec: JobSpec, statusJson: string, log: Logger) => Promise<unknown>
  /** Sees every outcome as it reaches the sink (metrics). */
  readonly onOutcome?: (outcome: Outcome) => void
  readonly log: Logger
}

/** What this instance's lease work has done since it started (/info, /metrics). */
export interface LeaseStats {
  takeovers: number
  fenced: number
}

export class JobRunner {
  readonly #deps: JobRunnerDeps
  readonly active = new ActiveJobs()
  readonly ending: JobEnding
  readonly #recovery: JobRecovery
  readonly #claimer: JobClaimer
  readonly leaseStats: LeaseStats = { takeovers: 0, fenced: 0 }
  #isClosing = false

  constructor (deps: JobRunnerDeps) {
    this.#deps = deps
    this.ending = new JobEnding(deps)
    this.#recovery = new JobRecovery({ spoolDir: deps.upload.spoolDir, instanceId: deps.jobs.instanceId, jobStore: deps.jobStore, leaseStore: deps.leaseStore, log: deps.log })
    this.#claimer = new JobClaimer({
      leases: deps.leaseStore,
      instanceId: deps.jobs.instanceId,
      freeSlots: () => this.#isClosing ? 0 : deps.jobs.maxActiveJobs - this.active.size,
      isRunningHere: (jobId) => this.active.has(jobId),
      launch: (lease, claim) => this.#launch(lease, claim),
      log: deps.log
    })
    deps.channel.on('wake', () => this.#claimer.ring())
    deps.channel.on('control', (jobId) => this.#onControl(jobId))
  }

  get activeCount (): number {
    return this.active.size
  }

  get queuedCount (): number {
    return this.#claimer.queueLength
  }

  get inFlight (): number {
    return this.active.inFlight
  }

  jobsByState (): Record<string, number> {
    const paused = this.active.pausing
    return { queued: this.#claimer.queueLength, running: this.active.size - paused, paused }
  }

  /**
   * Starts taking jobs: the spool dir is checked against Redis first (jobs it forgot are
   * registered again; live jobs neither queued nor leased, e.g. from before leases, are
   * queued), then the claimer looks for work now and every second.
   */
  async start (): Promise<void> {
    await this.sweep()
    this.#claimer.start()
  }

  /** The spool-dir reconciliation (start-up, Redis back after an outage, and hourly). */
  async sweep (): Promise<void> {
    const toQueue = await this.#recovery.sweep()
    for (const { jobId, submittedAtMs } of toQueue) await this.#deps.leaseStore.enqueue(jobId, submittedAtMs)
    if (toQueue.length > 0) this.#claimer.ring()
  }

  /**
   * A job was registered (or resumed): queued for the whole fleet, oldest submission first,
   * and taken here at once if a slot is free.
   */
  async enqueue (jobId: string, submittedAt: number = Date.now()): Promise<void> {
    try {
      await this.#deps.leaseStore.enqueue(jobId, submittedAt)
    } catch (err) {
      // Registered and receipted, so not lost: the spool-dir sweep queues it.
      this.#deps.log.warn({ err, jobId }, 'queueing a job failed; the spool sweep will queue it')
      return
    }
    this.#claimer.ring()
    await this.#deps.channel.wake().catch(() => {})
  }

  /** Whether this instance runs the job now. */
  has (jobId: string): boolean {
    return this.active.has(jobId)
  }

  /** Resolves once the job's run here (if any) has ended, and the claimer has looked once. */
  async whenSettled (jobId: string): Promise<void> {
    await this.#claimer.settled()
    await this.active.get(jobId)?.settled
  }

  /** Cancel of a job that runs here: nothing new starts, in-flight requests are aborted. */
  async cancelHere (jobId: string): Promise<boolean> {
    const job = this.active.get(jobId)
    if (job === undefined) return false
    job.stopping = 'cancel'
    await job.run?.cancel()
    await job.settled
    return true
  }

  /**
   * Pause of a job that runs here: nothing new starts once this resolves; in-flight
   * requests finish in the background, then the lease and the slot are given up.
   */
  async pauseHere (jobId: string): Promise<boolean> {
    const job = this.active.get(jobId)
    if (job === undefined) return false
    if (job.stopping === null) {
      job.stopping = 'pause'
      job.run?.pause()
      job.run?.drain(this.#deps.pauseGraceMs).catch(() => {})
    }
    await this.#deps.jobStore.setLiveState(jobId, 'paused')
    await this.#deps.leaseStore.setControl(jobId, null)
    return true
  }

  /** Stops taking jobs, drains the running ones within `graceMs` and hands them to the fleet. */
  async close (graceMs: number): Promise<void> {
    this.#isClosing = true
    this.#claimer.stop()
    await this.#claimer.settled()
    await Promise.all(this.active.all().map(async (job) => {
      if (job.stopping === null) job.stopping = 'handover'
      await job.run?.drain(graceMs)
      await job.settled
    }))
    await this.ending.flush()
  }

  #onControl (jobId: string): void {
    const job = this.active.get(jobId)
    if (job === undefined) return
    this.#deps.jobStore.get(jobId).then(async (stored) => {
      if (stored?.meta.control === 'cancel') await this.cancelHere(jobId)
      else if (stored?.meta.control === 'pause') await this.pauseHere(jobId)
    }).catch((err: unknown) => this.#deps.log.warn({ err, jobId }, 'acting on a control request failed'))
  }

  #launch (lease: Lease, claim: Claim): void {
    const log = this.#deps.log.child({ jobId: lease.jobId })
    if (claim === 'takeover') {
      this.leaseStats.takeovers++
      log.warn({ fence: lease.fence }, 'taking over a job whose lease expired')
    }
    const keeper = new LeaseKeeper({
      leases: this.#deps.leaseStore,
      lease,
      log,
      onLost: () => this.active.get(lease.jobId)?.run?.abandon(),
      onControl: (request) => { (request === 'cancel' ? this.cancelHere(lease.jobId) : this.pauseHere(lease.jobId)).catch(() => {}) }
    })
    const job: ActiveJob = { lease, keeper, run: null, stopping: null, settled: Promise.resolve() }
    this.active.add(job)
    keeper.start()
    job.settled = this.#runJob(job, log)
      .catch((err: unknown) => log.error({ err }, 'job runner failed'))
      .finally(() => {
        keeper.stop()
        this.active.delete(lease.jobId)
        this.#claimer.ring()
      })
  }

  async #runJob (job: ActiveJob, log: Logger): Promise<void> {
    const { jobStore, leaseStore } = this.#deps
    const { lease } = job
    const jobId = lease.jobId
    const stored = await jobStore.get(jobId)
    if (stored === null || stored.meta.state === 'paused' || stored.meta.finishedAt !== null) return await leaseStore.release(lease)
    const { meta, counts } = stored
    const parsed = this.#specOf(meta)
    if (!parsed.ok) return await this.ending.fail(jobId, meta.spoolPath, { code: 'invalid_config', message: parsed.problems.join('; ') })
    if (meta.control !== null) job.stopping = meta.control
    if (this.#isClosing) job.stopping ??= 'handover'
    if (job.stopping !== null) return await this.#stopBeforeRun(job, meta, parsed.spec, log)
    if (await jobStore.openRun(jobId) >= POISON_STRIKES) {
      log.error({ strikes: POISON_STRIKES }, 'job quarantined: it crashed the process on resume')
      return await this.ending.fail(jobId, meta.spoolPath, { code: 'poison_job', message: 'the process died twice while resuming this job, without progress; it is not run again' })
    }
    const isResume = counts.count > 0
    const startedAt = meta.startedAt ?? new Date().toISOString()
    if (meta.startedAt === null) await markReceiptStarted(this.#deps.upload.spoolDir, jobId, startedAt)
    await jobStore.markRunning(jobId, startedAt)
    // Asked to stop while it was being set up: no run starts.
    if (job.stopping !== null) return await this.#stopBeforeRun(job, meta, parsed.spec, log)
    log.info({ total: meta.total, isResume, concurrency: parsed.spec.concurrency, fence: lease.fence }, 'job started')

    const run = job.run = new JobRun({
      jobId,
      spec: parsed.spec,
      spoolPath: meta.spoolPath,
      isResume,
      fence: lease.fence,
      maxLineBytes: this.#deps.upload.maxLineBytes,
      outcomeBatchSize: this.#deps.jobs.outcomeBatchSize,
      flushIntervalMs: this.#deps.jobs.flushIntervalMs,
      outcomeStore: this.#deps.outcomeStore,
      createConnector: this.#deps.createConnector,
      onOutcome: this.#deps.onOutcome,
      log
    })
    const startMs = performance.now()
    let end
    try {
      end = await run.run()
    } catch (err) {
      // The job ends here with what it counted (the sink stored what it held); the process
      // and every other job go on.
      return await this.ending.failRun(jobId, meta.spoolPath, err, log)
    }
    const durationMs = Math.round(performance.now() - startMs)
    // Ending a job is the holder's alone: a deposed holder writes nothing more.
    if (end === 'fenced' || (end !== 'state_lost' && !await job.keeper.confirm())) {
      this.leaseStats.fenced++
      log.warn({ durationMs }, 'job taken over by another instance: stopped here')
      return
    }
    if (end === 'drained') {
      await jobStore.closeRun(jobId)
      if (job.stopping === 'pause') await leaseStore.release(lease)
      else await leaseStore.handOver(lease, submittedAtMs(meta))
      log.info({ durationMs, why: job.stopping }, 'job handed back')
      await this.#deps.channel.wake().catch(() => {})
      return
    }
    if (end === 'state_lost') {
      log.error({ durationMs }, 'job state lost in redis')
      return await this.ending.stateLost(meta)
    }
    await this.ending.finish(jobId, end, meta.spoolPath, parsed.spec, log)
    log.info({ durationMs, state: end }, 'job ended')
  }

  /** A job taken but asked to stop before its run began: it ends, pauses or goes back to the queue. */
  async #stopBeforeRun (job: ActiveJob, meta: JobMeta, spec: JobSpec, log: Logger): Promise<void> {
    const { jobStore, leaseStore } = this.#deps
    if (job.stopping === 'cancel') return await this.ending.finish(meta.jobId, 'cancelled', meta.spoolPath, spec, log)
    await jobStore.closeRun(meta.jobId)
    if (job.stopping === 'pause') {
      // markRunning may have run after pauseHere() wrote `paused`; a resume since then wrote `queued` and stays.
      if ((await jobStore.get(meta.jobId))?.meta.state === 'running') await jobStore.setLiveState(meta.jobId, 'paused')
      await leaseStore.setControl(meta.jobId, null)
      return await leaseStore.release(job.lease)
    }
    await leaseStore.handOver(job.lease, submittedAtMs(meta))
  }

  /** The JobSpec stored with a job (wire form, validated again: limits may have changed). */
  #specOf (meta: JobMeta): JobSpecResult {
    return parseJobSpec(JSON.parse(meta.specJson), this.#deps.specLimits)
  }
}
