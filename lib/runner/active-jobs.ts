/** The jobs this instance runs now, by id, with what the gauges read off them. */
import type { Lease } from '../store/lease-store.js'
import type { JobRun } from './run-job.js'
import type { LeaseKeeper } from './lease-keeper.js'

/** Why a job is being stopped before its end; it decides what happens after the run. */
export type Stopping = 'cancel' | 'pause' | 'handover'

export interface ActiveJob {
  readonly lease: Lease
  readonly keeper: LeaseKeeper
  /** Null until the job's spool is opened and its run built. */
  run: JobRun | null
  stopping: Stopping | null
  /** Resolves once the job is no longer this instance's. */
  settled: Promise<void>
}

export class ActiveJobs {
  readonly #jobs = new Map<string, ActiveJob>()

  get size (): number {
    return this.#jobs.size
  }

  /** Requests in flight across the jobs. */
  get inFlight (): number {
    let total = 0
    for (const job of this.#jobs.values()) total += job.run?.inFlight ?? 0
    return total
  }

  /** Jobs paused and still finishing their in-flight requests here. */
  get pausing (): number {
    let count = 0
    for (const job of this.#jobs.values()) if (job.stopping === 'pause') count++
    return count
  }

  add (job: ActiveJob): void {
    this.#jobs.set(job.lease.jobId, job)
  }

  get (jobId: string): ActiveJob | undefined {
    return this.#jobs.get(jobId)
  }

  has (jobId: string): boolean {
    return this.#jobs.has(jobId)
  }

  delete (jobId: string): void {
    this.#jobs.delete(jobId)
  }

  all (): ActiveJob[] {
    return [...this.#jobs.values()]
  }
}
