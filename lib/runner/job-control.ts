/**
 * Cancel, pause and resume, asked on any instance of the fleet (docs/scale-out.md).
 *
 * A job runs on at most one instance, its lease holder. Asked here:
 *   - it runs here: done here (job-runner.ts cancelHere / pauseHere);
 *   - nobody holds its lease (queued, paused, or its holder died): this instance takes the
 *     lease, which fences out anyone else, and does it;
 *   - another instance holds it: the request is written to the job's `control` field and the
 *     holder rung on the control channel; the answer waits until the holder has done it (the
 *     job's state says so) or its lease is found expired (then the step above).
 * So when cancel or pause answers, no request of the job starts anywhere any more.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Logger } from '../logger.js'
import { StoreUnavailableError } from '../errors.js'
import { isLive, submittedAtMs, type JobMeta, type StoredJob } from '../domain/job-meta.js'
import { parseJobSpec, type JobSpecLimits } from '../domain/job-spec.js'
import type { JobStore } from '../store/job-store.js'
import type { ControlRequest, Lease, LeaseStore } from '../store/lease-store.js'
import type { ControlChannel } from '../store/control-channel.js'
import type { JobRunner } from './job-runner.js'

/** How often the answer looks whether the holder has done what was asked. */
const CHECK_MS = 20
/** Beyond the lease time: how long an answer waits before it gives up with a 503. */
const ANSWER_SLACK_MS = 5000

export interface JobControlDeps {
  readonly instanceId: string
  readonly runner: JobRunner
  readonly jobStore: JobStore
  readonly leaseStore: LeaseStore
  readonly channel: ControlChannel
  readonly specLimits: JobSpecLimits
  readonly log: Logger
}

export class JobControl {
  readonly #deps: JobControlDeps

  constructor (deps: JobControlDeps) {
    this.#deps = deps
  }

  /** Resolves once the job has ended (cancelled, or finished on its own meanwhile). */
  async cancel (jobId: string): Promise<void> {
    await this.#stop(jobId, 'cancel')
  }

  /** Resolves once no request of the job starts any more; in-flight ones finish. */
  async pause (jobId: string): Promise<void> {
    await this.#stop(jobId, 'pause')
  }

  /** A paused job goes back to the queue, where whichever instance has a free slot takes it. */
  async resume (jobId: string): Promise<void> {
    const { jobStore, leaseStore, runner } = this.#deps
    await jobStore.setLiveState(jobId, 'queued')
    await leaseStore.setControl(jobId, null)
    const job = await jobStore.get(jobId)
    await runner.enqueue(jobId, submittedAtMs(job?.meta))
  }

  async #stop (jobId: string, request: ControlRequest): Promise<void> {
    const { runner, jobStore, leaseStore, channel } = this.#deps
    const deadline = performance.now() + leaseStore.leaseMs + ANSWER_SLACK_MS
    let isAsked = false
    for (;;) {
      if (await (request === 'cancel' ? runner.cancelHere(jobId) : runner.pauseHere(jobId))) return
      const job = await jobStore.get(jobId)
      if (job === null || isDone(job, request)) return
      if (job.meta.leaseExpiresAt === null) {
        const lease = await leaseStore.acquire(jobId, this.#deps.instanceId)
        if (lease === 'gone') return
        if (lease !== 'held') return await this.#stopUnrun(lease, job.meta, request)
      } else if (!isAsked) {
        await leaseStore.setControl(jobId, request)
        await channel.control(jobId)
        isAsked = true
      }
      if (performance.now() > deadline) throw new StoreUnavailableError(`the instance running this job did not ${request} it in time; try again`)
      await sleep(CHECK_MS)
    }
  }

  /** The job runs nowhere and this instance holds its lease: cancel or pause it right here. */
  async #stopUnrun (lease: Lease, meta: JobMeta, request: ControlRequest): Promise<void> {
    const { jobStore, leaseStore, runner, log } = this.#deps
    if (request === 'cancel') {
      const parsed = parseJobSpec(JSON.parse(meta.specJson), this.#deps.specLimits)
      return await runner.ending.finish(meta.jobId, 'cancelled', meta.spoolPath, parsed.ok ? parsed.spec : null, log.child({ jobId: meta.jobId }))
    }
    await jobStore.setLiveState(meta.jobId, 'paused')
    await leaseStore.setControl(meta.jobId, null)
    await leaseStore.release(lease)
  }
}

function isDone (job: StoredJob, request: ControlRequest): boolean {
  if (!isLive(job.meta.state)) return true
  return request === 'pause' && job.meta.state === 'paused'
}
