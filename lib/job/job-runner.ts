/**
 * Owns the jobs this instance runs: a FIFO queue, at most `maxActiveJobs` running at once,
 * resume of this instance's unfinished jobs at start, and the shutdown drain. Each job's
 * end is written to the store here, and its spool file removed once the job is over.
 */
import { unlink } from 'node:fs/promises'
import type { JobsConfig, UploadConfig } from '../config.js'
import type { Logger } from '../logger.js'
import type { JobStore } from '../store/job-store.js'
import type { OutcomeStore } from '../store/outcome-store.js'
import { parseJobSpec, type JobSpecLimits } from './job-spec.js'
import { JobRun } from './run-job.js'

export interface JobRunnerDeps {
  readonly jobs: JobsConfig
  readonly upload: UploadConfig
  readonly specLimits: JobSpecLimits
  readonly jobStore: JobStore
  readonly outcomeStore: OutcomeStore
  readonly log: Logger
}

export class JobRunner {
  readonly #deps: JobRunnerDeps
  readonly #queue: string[] = []
  readonly #active = new Map<string, JobRun | null>()
  readonly #settled = new Map<string, Promise<void>>()
  #isClosing = false

  constructor (deps: JobRunnerDeps) {
    this.#deps = deps
  }

  get activeCount (): number {
    return this.#active.size
  }

  get queuedCount (): number {
    return this.#queue.length
  }

  enqueue (jobId: string): void {
    if (this.#isClosing || this.#active.has(jobId) || this.#queue.includes(jobId)) return
    this.#queue.push(jobId)
    this.#pump()
  }

  /** Queues every unfinished job this instance owns, oldest first. */
  async resumeOwned (): Promise<number> {
    const jobs = await this.#deps.jobStore.listOwned(this.#deps.jobs.instanceId)
    for (const job of jobs) this.enqueue(job.meta.job_id as string)
    if (jobs.length > 0) this.#deps.log.info({ jobs: jobs.length }, 'resuming unfinished jobs')
    return jobs.length
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
    const job = await jobStore.get(jobId)
    if (job === null) {
      log.warn('job vanished from the store before it started')
      return
    }
    const { meta, counts } = job
    const spoolPath = meta.spool_path as string
    const parsed = parseJobSpec(JSON.parse(meta.spec ?? 'null'), this.#deps.specLimits)
    if (!parsed.ok) {
      await jobStore.finish(jobId, 'failed', { code: 'invalid_config', message: parsed.problems.join('; ') })
      return
    }
    if (this.#isClosing) return
    const isResume = Number(counts.count) > 0
    const startedAt = meta.started_at ?? new Date().toISOString()
    await jobStore.markRunning(jobId, startedAt)
    log.info({ total: Number(meta.total), isResume, concurrency: parsed.spec.concurrency }, 'job started')

    const run = new JobRun({
      jobId,
      spec: parsed.spec,
      spoolPath,
      isResume,
      maxLineBytes: this.#deps.upload.maxLineBytes,
      outcomeBatchSize: this.#deps.jobs.outcomeBatchSize,
      flushIntervalMs: this.#deps.jobs.flushIntervalMs,
      outcomeStore: this.#deps.outcomeStore,
      log
    })
    this.#active.set(jobId, run)
    const startMs = performance.now()
    let end
    try {
      end = await run.run()
    } catch (err) {
      const code = (err as { code?: unknown }).code === 'ENOENT' ? 'spool_lost' : 'job_error'
      log.error({ err }, 'job failed')
      await jobStore.finish(jobId, 'failed', { code, message: code === 'spool_lost' ? 'the spool file is gone' : 'processing failed' })
      await unlink(spoolPath).catch(() => {})
      return
    }
    const durationMs = Math.round(performance.now() - startMs)
    if (end === 'drained') {
      log.info({ durationMs }, 'job drained for shutdown')
      return
    }
    if (end === 'state_lost') {
      log.error({ durationMs }, 'job state lost in redis')
      await jobStore.recordStateLost(jobId, meta.primarykey ?? '', meta.instance ?? '', Number(meta.total))
    } else {
      await jobStore.finish(jobId, 'completed')
      log.info({ durationMs }, 'job completed')
    }
    await unlink(spoolPath).catch(() => {})
  }
}
