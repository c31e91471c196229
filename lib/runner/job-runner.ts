/**
 * Runs the jobs this instance holds a lease on (docs/scale-out.md): at most `maxActiveJobs`
 * at once, each under a LeaseKeeper. Which jobs it takes is job-claimer.ts; one leased job
 * from start to hand-back is leased-job.ts; cancel, pause and resume asked on any instance
 * are job-control.ts; how a job ends is job-ending.ts; one job's pipeline is run-job.ts.
 * Jobs Redis forgot, and live jobs nobody queued or leases, are found in the spool dir
 * (job-recovery.ts).
 */
import type { Lease } from '../store/lease-store.js'
import { JobEnding } from './job-ending.js'
import { JobRecovery } from './job-recovery.js'
import { JobClaimer } from './job-claimer.js'
import { LeaseKeeper } from './lease-keeper.js'
import { ActiveJobs, type ActiveJob } from './active-jobs.js'
import { LeasedJob } from './leased-job.js'
import { InFlightBudget } from '../pipeline/in-flight-budget.js'

import type { CircuitStats, JobRunnerDeps, LeaseStats } from './runner-deps.js'
import type { Signals } from './signal-publisher.js'

export type { JobRunnerDeps, LeaseStats }

export class JobRunner {
  readonly #deps: JobRunnerDeps
  readonly active = new ActiveJobs()
  readonly ending: JobEnding
  readonly #recovery: JobRecovery
  readonly #claimer: JobClaimer
  readonly leaseStats: LeaseStats = { takeovers: 0, fenced: 0 }
  readonly circuitStats: CircuitStats = { opens: 0 }
  #isClosing = false
  readonly #leased: LeasedJob

  constructor (deps: JobRunnerDeps) {
    this.#deps = deps
    this.ending = new JobEnding(deps)
    this.#leased = new LeasedJob(deps, {
      ending: this.ending,
      stats: this.leaseStats,
      circuitStats: this.circuitStats,
      budget: new InFlightBudget(deps.jobs.maxInFlight),
      isClosing: () => this.#isClosing,
      pause: async (jobId, reason) => await this.pauseHere(jobId, reason)
    })
    this.#recovery = new JobRecovery({ spoolDir: deps.upload.spoolDir, instanceId: deps.jobs.instanceId, jobStore: deps.jobStore, leaseStore: deps.leaseStore, log: deps.log })
    this.#claimer = new JobClaimer({
      leases: deps.leaseStore,
      instanceId: deps.jobs.instanceId,
      freeSlots: () => this.#isClosing ? 0 : deps.jobs.maxActiveJobs - this.active.size,
      isRunningHere: (jobId) => this.active.has(jobId),
      launch: (lease) => this.#launch(lease),
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
   * queued), then the claimer looks for work now and every pollIntervalMs().
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

  /** What the jobs running here see of their targets (/metrics). */
  jobSignals (): Array<Signals & { readonly jobId: string }> {
    return this.active.all().flatMap(({ lease, run }) => run === null ? [] : [{ jobId: lease.jobId, concurrencyLimit: run.concurrencyLimit, circuit: run.circuit }])
  }

  /**
   * Pause of a job that runs here: nothing new starts once this resolves; in-flight
   * requests finish in the background, then the lease and the slot are given up.
   * `reason` is set when the job pauses itself (its circuit stayed open too long).
   */
  async pauseHere (jobId: string, reason?: string): Promise<boolean> {
    const job = this.active.get(jobId)
    if (job === undefined) return false
    if (job.stopping === null) {
      job.stopping = 'pause'
      job.run?.pause()
      job.run?.drain(this.#deps.pauseGraceMs).catch(() => {})
    }
    await this.#deps.jobStore.setLiveState(jobId, 'paused', reason)
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

  #launch (lease: Lease): void {
    const log = this.#deps.log.child({ jobId: lease.jobId })
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
    job.settled = this.#leased.run(job, log)
      .catch((err: unknown) => log.error({ err }, 'job runner failed'))
      .finally(() => {
        keeper.stop()
        this.active.delete(lease.jobId)
        this.#claimer.ring()
      })
  }
}
