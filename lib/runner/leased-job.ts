/**
 * One job this instance holds the lease of, from taking it to handing it back: the checks
 * before a run (finished meanwhile, paused, cancel or pause asked, shutting down, poison),
 * the run itself, and what follows it (ended, drained for pause or hand-over, taken over by
 * another instance, state lost). Only the holder ends a job, so the lease is confirmed once
 * more before any ending is written (docs/scale-out.md).
 */
import type { Logger } from '../logger.js'
import { parseJobSpec, type JobSpec, type JobSpecResult } from '../domain/job-spec.js'
import { submittedAtMs, type JobMeta } from '../domain/job-meta.js'
import { markReceiptStarted } from '../spool/job-receipt.js'
import { JobRun } from './run-job.js'
import type { JobEnding } from './job-ending.js'
import type { ActiveJob } from './active-jobs.js'
import type { CircuitStats, JobRunnerDeps, LeaseStats } from './runner-deps.js'
import type { InFlightBudget } from '../pipeline/in-flight-budget.js'
import { SignalPublisher } from './signal-publisher.js'
import { CircuitWatch } from './circuit-watch.js'

/** Runs in a row that the process died under without progress before a job is quarantined. */
const POISON_STRIKES = 2

/** What a LeasedJob shares with its JobRunner. */
export interface LeasedJobParts {
  readonly ending: JobEnding
  readonly stats: LeaseStats
  readonly circuitStats: CircuitStats
  /** CHRONOS_MAX_IN_FLIGHT, shared fairly by the instance's running jobs (in-flight-budget.ts). */
  readonly budget: InFlightBudget
  readonly isClosing: () => boolean
  /** Pauses a job running here, recording why (the runner's pauseHere). */
  readonly pause: (jobId: string, reason: string) => Promise<unknown>
}

export class LeasedJob {
  readonly #deps: JobRunnerDeps
  readonly #parts: LeasedJobParts
  readonly #ending: JobEnding
  readonly #stats: LeaseStats

  constructor (deps: JobRunnerDeps, parts: LeasedJobParts) {
    this.#deps = deps
    this.#parts = parts
    this.#ending = parts.ending
    this.#stats = parts.stats
  }

  async run (job: ActiveJob, log: Logger): Promise<void> {
    const { jobStore, leaseStore } = this.#deps
    const { lease } = job
    const jobId = lease.jobId
    const stored = await jobStore.get(jobId)
    if (stored === null || stored.meta.state === 'paused' || stored.meta.finishedAt !== null) {
      job.keeper.stop()
      return await leaseStore.release(lease)
    }
    const { meta, counts } = stored
    if (meta.state === 'running' && meta.isRunOpen) {
      this.#stats.takeovers++
      log.warn({ fence: lease.fence }, 'taking over a job whose holder stopped without handing it back')
    }
    const parsed = this.#specOf(meta)
    if (!parsed.ok) return await this.#ending.fail(jobId, meta.spoolPath, { code: 'invalid_config', message: parsed.problems.join('; ') })
    if (meta.control !== null) job.stopping = meta.control
    if (this.#parts.isClosing()) job.stopping ??= 'handover'
    if (job.stopping !== null) return await this.#stopBeforeRun(job, meta, parsed.spec, log)
    if (await jobStore.openRun(jobId) >= POISON_STRIKES) {
      log.error({ strikes: POISON_STRIKES }, 'job quarantined: it crashed the process on resume')
      return await this.#ending.fail(jobId, meta.spoolPath, { code: 'poison_job', message: 'the process died twice while resuming this job, without progress; it is not run again' })
    }
    const isResume = counts.count > 0
    const startedAt = meta.startedAt ?? new Date().toISOString()
    if (meta.startedAt === null) await markReceiptStarted(this.#deps.upload.spoolDir, jobId, startedAt)
    await jobStore.markRunning(jobId, startedAt)
    // Asked to stop while it was being set up: no run starts.
    if (job.stopping !== null) return await this.#stopBeforeRun(job, meta, parsed.spec, log)
    log.info({ total: meta.total, isResume, concurrency: parsed.spec.concurrency, fence: lease.fence }, 'job started')

    const { circuitStats: stats, pause } = this.#parts
    const circuit = new CircuitWatch({ jobId, spec: parsed.spec, ending: this.#ending, stats, pause, publish: () => signals.publish(), log })
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
      budget: this.#parts.budget,
      owner: meta.owner,
      circuitMaxOpenMs: this.#deps.jobs.circuitMaxOpenMs,
      onCircuit: (state) => circuit.changed(state),
      onCircuitStuck: () => circuit.stuck(),
      log
    })
    const signals = new SignalPublisher(leaseStore, lease, () => ({ concurrencyLimit: run.concurrencyLimit, circuit: run.circuit }), log)
    const startMs = performance.now()
    // run() builds its sender before its first await: the first write has the live limit.
    const running = run.run()
    signals.start()
    let end
    try {
      end = await running
    } catch (err) {
      // The job ends here with what it counted (the sink stored what it held); the process
      // and every other job go on.
      await signals.stop()
      return await this.#ending.failRun(jobId, meta.spoolPath, err, log)
    }
    await signals.stop()
    const durationMs = Math.round(performance.now() - startMs)
    // Ending a job is the holder's alone: a deposed holder writes nothing more.
    const isStillHolder = end !== 'fenced' && (end === 'state_lost' || await job.keeper.confirm())
    // No renewal may land after what follows gives the lease up (it would find it gone).
    job.keeper.stop()
    if (end === 'fenced' || !isStillHolder) {
      this.#stats.fenced++
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
      return await this.#ending.stateLost(meta)
    }
    await this.#ending.finish(jobId, end, meta.spoolPath, parsed.spec, log)
    log.info({ durationMs, state: end }, 'job ended')
  }

  /** A job taken but asked to stop before its run began: it ends, pauses or goes back to the queue. */
  async #stopBeforeRun (job: ActiveJob, meta: JobMeta, spec: JobSpec, log: Logger): Promise<void> {
    const { jobStore, leaseStore } = this.#deps
    job.keeper.stop()
    if (job.stopping === 'cancel') return await this.#ending.finish(meta.jobId, 'cancelled', meta.spoolPath, spec, log)
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
