/**
 * The job registry: create, look up by id or primarykey, state transitions, expiry.
 *
 * Job keys (one hash tag, one slot) change together in MULTI; the primarykey pointers and
 * indexes live in other slots and are written in separate steps, ordered so that a crash
 * between them leaves at worst a stale pointer that readers check and ignore.
 */
import type { Redis } from './redis.js'
import type { Keys } from './keys.js'
import type { JobState, StoredJob } from '../domain/job-meta.js'
import { jobFromHashes } from './job-hashes.js'
import { listJobs, type JobPage, type JobQuery } from './job-list.js'
import { claimPrimaryKey, isLive, releaseLive, restoreLatest } from './primary-keys.js'

export interface NewJob {
  readonly jobId: string
  readonly primaryKey: string
  /** The spec in wire form (JSON text). */
  readonly specJson: string
  readonly total: number
  readonly spoolPath: string
  readonly instanceId: string
  readonly submittedAt: string
  /** Fingerprint of the API key that created the job, or '' when the API is open. */
  readonly owner: string
  /** The job whose failed records this job sends again (retry-failed). */
  readonly parentJobId?: string
}

export class JobStore {
  readonly #redis: Redis
  readonly #keys: Keys
  readonly #ttlSeconds: number

  constructor (redis: Redis, keys: Keys, ttlSeconds: number) {
    this.#redis = redis
    this.#keys = keys
    this.#ttlSeconds = ttlSeconds
  }

  /** The id of the live (queued, running, paused) job holding an owner's primarykey, or null. */
  async findLive (owner: string, primaryKey: string): Promise<string | null> {
    const jobId = await this.#redis.get(this.#keys.liveByPrimaryKey(owner, primaryKey))
    return jobId !== null && await isLive(this.#redis, this.#keys, jobId) ? jobId : null
  }

  /**
   * Registers a queued job; JobConflictError when its primarykey is held by a live job.
   *
   * The job's own keys are written before it claims the primarykey, so a racing create that
   * finds this job holding the key always sees it live (claiming first let a racer read
   * "no state yet" as "finished" and take the key too). A refused job's keys are removed.
   *
   * `signal` aborted (the caller gave up waiting and answered 503) stops it before its next
   * step; the caller then undoes what did get written with discard(), once this promise has
   * settled — never while it still runs (issue 18 item 4).
   */
  async create (job: NewJob, signal?: AbortSignal): Promise<void> {
    const k = this.#keys
    await this.#exec(this.#redis.multi()
      .hset(k.meta(job.jobId), {
        job_id: job.jobId,
        primarykey: job.primaryKey,
        spec: job.specJson,
        state: 'queued',
        total: job.total,
        spool_path: job.spoolPath,
        instance: job.instanceId,
        owner: job.owner,
        submitted_at: job.submittedAt,
        ...(job.parentJobId === undefined ? {} : { parent_job_id: job.parentJobId })
      })
      .hset(k.counts(job.jobId), { count: 0, succeeded: 0, failed: 0, retries: 0 })
      .rpush(k.states(job.jobId), `queued ${job.submittedAt}`))
    try {
      signal?.throwIfAborted()
      await claimPrimaryKey(this.#redis, this.#keys, job)
    } catch (err) {
      // Best effort: when the claim failed because Redis is gone, its error is the one to
      // report, not the clean-up's (the keys then stay behind, without an expiry).
      await this.#redis.del(k.meta(job.jobId), k.counts(job.jobId), k.states(job.jobId)).catch(() => undefined)
      throw err
    }
    // Two keys in two slots: separate commands, since a MULTI across slots fails on
    // Redis Cluster. The job's own keys above were written first, so a crash in between
    // leaves a job that is merely not yet listed.
    signal?.throwIfAborted()
    // The primarykey's earlier job is remembered, so discard() can point `latest` back at it.
    const previous = await this.#redis.set(k.latestByPrimaryKey(job.owner, job.primaryKey), job.jobId, 'GET')
    if (previous !== null) await this.#redis.hset(k.meta(job.jobId), 'previous_latest', previous)
    signal?.throwIfAborted()
    await this.#redis.zadd(k.jobsIndex(), Date.parse(job.submittedAt), job.jobId)
  }

  async get (jobId: string): Promise<StoredJob | null> {
    const results = await this.#exec(this.#redis.multi()
      .hgetall(this.#keys.meta(jobId))
      .hgetall(this.#keys.counts(jobId))
      .pttl(this.#keys.lease(jobId)))
    const meta = results[0] as Record<string, string>
    if (Object.keys(meta).length === 0) return null
    return jobFromHashes(meta, results[1] as Record<string, string>, results[2] as number)
  }

  /** A job id, or one of the owner's primarykeys meaning its latest job. */
  async resolve (key: string, owner: string): Promise<string | null> {
    if (await this.#redis.exists(this.#keys.meta(key)) === 1) return key
    return await this.#redis.get(this.#keys.latestByPrimaryKey(owner, key))
  }

  async markRunning (jobId: string, startedAt: string): Promise<void> {
    await this.#exec(this.#redis.multi()
      .hset(this.#keys.meta(jobId), { state: 'running', started_at: startedAt })
      .rpush(this.#keys.states(jobId), `running ${new Date().toISOString()}`))
  }

  /**
   * Opens a run of the job; returns its crash strikes: resumes in a row the process died
   * under (the run never closed) without counting anything new. The first run's death earns
   * none, progress clears them: only a job that crashes every resume reaches two and is
   * quarantined by the runner (issue 18 item 1), never one merely interrupted by deploys.
   */
  async openRun (jobId: string): Promise<number> {
    const meta = this.#keys.meta(jobId)
    const [fields, count] = await this.#exec(this.#redis.multi()
      .hmget(meta, 'run_open', 'run_start_count', 'crash_strikes', 'runs')
      .hget(this.#keys.counts(jobId), 'count')) as [Array<string | null>, string | null]
    const [isOpen, startCount, strikes, runs] = fields
    const counted = Number(count ?? 0)
    const previousRuns = Number(runs ?? 0)
    let newStrikes = Number(strikes ?? 0)
    if (counted > Number(startCount ?? -1)) newStrikes = 0
    else if (isOpen === '1' && previousRuns >= 2) newStrikes++
    await this.#redis.hset(meta, { run_open: 1, run_start_count: counted, crash_strikes: newStrikes, runs: previousRuns + 1 })
    return newStrikes
  }

  /** The run stopped in an orderly way (drained, paused): it was no crash. */
  async closeRun (jobId: string): Promise<void> { await this.#redis.hset(this.#keys.meta(jobId), 'run_open', 0) }

  /** A transition between live states (pause, resume); `pauseReason` says why a job paused itself. */
  async setLiveState (jobId: string, state: 'queued' | 'running' | 'paused', pauseReason?: string): Promise<void> {
    const multi = this.#redis.multi().hset(this.#keys.meta(jobId), { state })
    if (pauseReason === undefined) multi.hdel(this.#keys.meta(jobId), 'pause_reason')
    else multi.hset(this.#keys.meta(jobId), { pause_reason: pauseReason })
    await this.#exec(multi.rpush(this.#keys.states(jobId), `${state} ${new Date().toISOString()}`))
  }

  /** State transitions from index `from` on, as `{state, at}`. */
  async readStates (jobId: string, from: number): Promise<Array<{ state: string, at: string }>> {
    const entries = await this.#redis.lrange(this.#keys.states(jobId), from, -1)
    return entries.map((entry) => {
      const [state = '', at = ''] = entry.split(' ')
      return { state, at }
    })
  }

  /** Ends a job: final state, lease gone, keys set to expire, primarykey released, off the queue and lease lists. */
  async finish (jobId: string, state: JobState, error?: { code: string, message: string }): Promise<void> {
    const k = this.#keys
    const meta = k.meta(jobId)
    const fields: Record<string, string> = { state, finished_at: new Date().toISOString() }
    if (error !== undefined) Object.assign(fields, { error_code: error.code, error_message: error.message })
    const [primaryKey, owner] = await this.#redis.hmget(meta, 'primarykey', 'owner')
    const multi = this.#redis.multi().hset(meta, fields).rpush(k.states(jobId), `${state} ${fields.finished_at}`).del(k.lease(jobId))
    for (const key of k.jobKeys(jobId)) multi.expire(key, this.#ttlSeconds)
    await this.#exec(multi)
    // Other slots, so separate commands: a crash in between leaves an entry that whoever
    // reads it next finds finished and drops.
    await this.#redis.zrem(k.queue(), jobId)
    await this.#redis.zrem(k.leases(), jobId)
    if (primaryKey !== null && primaryKey !== undefined) {
      await releaseLive(this.#redis, k, owner ?? '', primaryKey, jobId)
      await this.#redis.expire(k.latestByPrimaryKey(owner ?? '', primaryKey), this.#ttlSeconds)
    }
  }

  /**
   * Redis no longer holds this job (restarted without persistence): write a failed meta so
   * readers see `state_lost` instead of wrong numbers, then finish it as usual.
   */
  async recordStateLost (jobId: string, primaryKey: string, instanceId: string, owner: string, total: number): Promise<void> {
    const error = { code: 'state_lost', message: 'Redis lost this job\'s progress; its counts cannot be trusted' }
    // The error goes in with the state: a reader between this write and finish() must never
    // see `failed` without its reason (the fault suite caught exactly that window).
    const fields = { job_id: jobId, primarykey: primaryKey, instance: instanceId, owner, total, state: 'failed' }
    await this.#redis.hset(this.#keys.meta(jobId), { ...fields, error_code: error.code, error_message: error.message })
    await this.#redis.set(this.#keys.latestByPrimaryKey(owner, primaryKey), jobId)
    await this.finish(jobId, 'failed', error)
  }

  /** Job ids, newest first; ids whose keys expired are pruned from the index as met. */
  async listRecent (offset: number, limit: number): Promise<StoredJob[]> {
    const jobIds = await this.#redis.zrevrange(this.#keys.jobsIndex(), offset, offset + limit - 1)
    const jobs: StoredJob[] = []
    for (const jobId of jobIds) {
      const job = await this.get(jobId)
      if (job === null) await this.#redis.zrem(this.#keys.jobsIndex(), jobId)
      else jobs.push(job)
    }
    return jobs
  }

  /** GET /jobs: a full page of the owner's jobs matching the filters, newest first (job-list.ts). */
  async list (query: JobQuery): Promise<JobPage<StoredJob>> {
    return await listJobs(this.#redis, this.#keys, query, async (jobId) => await this.get(jobId))
  }

  async countJobs (): Promise<number> {
    return await this.#redis.zcard(this.#keys.jobsIndex())
  }

  /**
   * Removes every trace of a job that was never accepted (registration failed half-way or
   * was given up): its keys, its claim on the primarykey, and `latest` points back at the
   * primarykey's earlier job, so that job's status stays reachable by primarykey.
   */
  async discard (jobId: string, primaryKey: string, owner: string): Promise<void> {
    const k = this.#keys
    const previous = await this.#redis.hget(k.meta(jobId), 'previous_latest')
    await restoreLatest(this.#redis, k, owner, primaryKey, jobId, previous ?? '', this.#ttlSeconds)
    await releaseLive(this.#redis, k, owner, primaryKey, jobId)
    await this.#redis.zrem(k.jobsIndex(), jobId)
    await this.#redis.zrem(k.queue(), jobId)
    await this.#redis.del(...k.jobKeys(jobId), k.lease(jobId))
  }

  /** Runs a MULTI and checks every [err, result] tuple. */
  async #exec (multi: ReturnType<Redis['multi']>): Promise<unknown[]> {
    const tuples = await multi.exec()
    if (tuples === null) throw new Error('redis transaction was discarded')
    return tuples.map(([err, result]) => {
      if (err !== null) throw err
      return result
    })
  }
}
