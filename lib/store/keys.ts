/**
 * The only key builder. Every key of one job carries the job id as a hash tag, so each
 * MULTI and each script touches one slot and the same code runs on Redis Cluster.
 */
export class Keys {
  readonly #prefix: string

  constructor (prefix: string) {
    this.#prefix = prefix
  }

  /** Hash: the job's spec, state, timestamps and totals. */
  meta (jobId: string): string {
    return `${this.#prefix}:job:{${jobId}}:meta`
  }

  /** Hash: count, succeeded, failed, retries, time sum/min/max, s:<status>, e:<reason>, h:<bucket>. */
  counts (jobId: string): string {
    return `${this.#prefix}:job:{${jobId}}:counts`
  }

  /** Bitmap: bit N is set once record N's outcome is counted (makes re-applied batches no-ops). */
  done (jobId: string): string {
    return `${this.#prefix}:job:{${jobId}}:done`
  }

  /** Bitmap: bit N is set when record N failed (retry-failed reads it). */
  failed (jobId: string): string {
    return `${this.#prefix}:job:{${jobId}}:failed`
  }

  /** List: one element per flushed batch of packed per-record results. */
  results (jobId: string): string {
    return `${this.#prefix}:job:{${jobId}}:results`
  }

  /** List: the job's state transitions, `<state> <iso time>`, oldest first (SSE replay). */
  states (jobId: string): string {
    return `${this.#prefix}:job:{${jobId}}:states`
  }

  /**
   * String `<instance> <fence>` with a PX expiry: the instance running the job, under the
   * fencing token it holds (docs/scale-out.md). Gone when the lease expired.
   */
  lease (jobId: string): string {
    return `${this.#prefix}:job:{${jobId}}:lease`
  }

  /** All keys of one job that outlive it until they expire (the lease goes when it ends). */
  jobKeys (jobId: string): string[] {
    return [this.meta(jobId), this.counts(jobId), this.done(jobId), this.failed(jobId), this.results(jobId), this.states(jobId)]
  }

  /**
   * String: id of the latest job submitted under a primarykey. Primarykeys are scoped by
   * owner (the API key's fingerprint, '' when the API is open), so one key can neither see
   * nor block another key's batches.
   */
  latestByPrimaryKey (owner: string, primaryKey: string): string {
    return `${this.#prefix}:pk:{${owner}:${primaryKey}}:latest`
  }

  /** String: id of the queued, running or paused job holding a primarykey (the 409 guard). */
  liveByPrimaryKey (owner: string, primaryKey: string): string {
    return `${this.#prefix}:pk:{${owner}:${primaryKey}}:live`
  }

  /** Sorted set: every job id, scored by submission time (GET /jobs). */
  jobsIndex (): string {
    return `${this.#prefix}:jobs`
  }

  /**
   * Sorted set: jobs waiting for an instance to run them (new, resumed, handed over), scored
   * by submission time so the oldest starts first. A hint kept beside each job's own state:
   * whoever takes a job from it checks the job's lease and state first.
   */
  queue (): string {
    return `${this.#prefix}:queue`
  }

  /** Sorted set: leased jobs, scored by when their lease ends (the takeover sweep reads it). */
  leases (): string {
    return `${this.#prefix}:leases`
  }

  /** Pub/sub channel: `wake` (a job was queued) and `control <jobId>` (cancel or pause asked). */
  controlChannel (): string {
    return `${this.#prefix}:control`
  }
}
