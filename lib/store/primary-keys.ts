/**
 * A primarykey's two pointers, in their own slot (`{owner:primarykey}`): `live` names the
 * queued, running or paused job holding it (the 409 guard), `latest` its newest job (a
 * status alias). Every change is compare-and-set, so racing uploads and late clean-ups
 * never move a pointer that has moved on.
 */
import type { Redis } from './redis.js'
import type { Keys } from './keys.js'
import { JobConflictError } from '../errors.js'
import { LIVE_STATES, type JobState } from '../domain/job-meta.js'

/** Compare-and-delete: drop the primarykey's live pointer only if it still names this job. */
const RELEASE_LIVE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
/**
 * Compare-and-restore: if `latest` names the discarded job, point it back at the earlier one
 * (or drop it). The earlier job has finished, so its pointer gets the result TTL again.
 */
const RESTORE_LATEST = "if redis.call('GET', KEYS[1]) == ARGV[1] then if ARGV[2] == '' then return redis.call('DEL', KEYS[1]) end redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3]) return 1 end return 0"
/** Compare-and-set: point the primarykey at a new job only if it still names the finished one. */
const TAKE_OVER_LIVE = "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0"

/**
 * Points the primarykey's live key at the job: at once when it is free; over a holder
 * that is no longer live (its release was lost) only by compare-and-set, so of several
 * racers exactly one takes it and the others see that one live.
 */
export async function claimPrimaryKey (redis: Redis, keys: Keys, job: { owner: string, primaryKey: string, jobId: string }): Promise<void> {
  const liveKey = keys.liveByPrimaryKey(job.owner, job.primaryKey)
  for (;;) {
    if (await redis.set(liveKey, job.jobId, 'NX') !== null) return
    const holder = await redis.get(liveKey)
    if (holder === null) continue // released in between: claim it afresh
    // Already ours: a job registered again from its receipt after Redis lost its own keys
    // but kept this pointer (eviction, a failed-over shard).
    if (holder === job.jobId) return
    if (await isLive(redis, keys, holder)) throw new JobConflictError(`a job with primarykey "${job.primaryKey}" is still live`, holder)
    if (await redis.eval(TAKE_OVER_LIVE, 1, liveKey, holder, job.jobId) === 1) return
  }
}

export async function isLive (redis: Redis, keys: Keys, jobId: string): Promise<boolean> {
  const state = await redis.hget(keys.meta(jobId), 'state')
  return state !== null && LIVE_STATES.has(state as JobState)
}

export async function releaseLive (redis: Redis, keys: Keys, owner: string, primaryKey: string, jobId: string): Promise<void> {
  await redis.eval(RELEASE_LIVE, 1, keys.liveByPrimaryKey(owner, primaryKey), jobId)
}

export async function restoreLatest (redis: Redis, keys: Keys, owner: string, primaryKey: string, jobId: string, previous: string, ttlSeconds: number): Promise<void> {
  await redis.eval(RESTORE_LATEST, 1, keys.latestByPrimaryKey(owner, primaryKey), jobId, previous, ttlSeconds)
}
