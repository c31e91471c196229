/**
 * GET /jobs's query over the jobs index (DESIGN §9): newest first, filtered by owner, state
 * and primarykey, in full pages of matching jobs (issue 14: paging first and filtering by
 * owner after gave short pages and offsets that counted other keys' jobs).
 *
 * The index is a sorted set scored by submission time; equal scores are ordered by member,
 * so (score, job id) is a total order and a cursor naming the last entry seen resumes
 * exactly after it, however many jobs were added or expired since. Entries are read in
 * batches with only the three filter fields; full snapshots are read for matches alone.
 * A request scans at most MAX_SCANNED index entries: past that it returns the page it has
 * (possibly short) with a cursor to go on, so one request never walks an unbounded index.
 * Entries whose job keys expired are pruned after the scan (pruning during it would shift
 * the offsets being read).
 */
import type { Redis } from './redis.js'
import type { Keys } from './keys.js'

export interface JobQuery {
  /** Fingerprint of the caller's key ('' when the API is open): only its jobs are listed. */
  readonly owner: string
  /** A job state (job-store.ts's JobState; a plain string here keeps this file below it). */
  readonly state?: string
  readonly primaryKey?: string
  /** Position after which to list (from a previous page's `next`). */
  readonly after?: JobCursor
  /** Matching jobs to skip first (the older offset paging). */
  readonly skip?: number
  readonly limit: number
}

/** The index position of one entry: its score and job id. */
export interface JobCursor {
  readonly score: number
  readonly jobId: string
}

export interface JobPage<T> {
  readonly jobs: T[]
  /** Where the next page starts, or null when no matching job is left. */
  readonly next: JobCursor | null
}

export const MAX_SCANNED = 10_000
const BATCH = 200

export async function listJobs<T> (redis: Redis, keys: Keys, query: JobQuery, get: (jobId: string) => Promise<T | null>): Promise<JobPage<T>> {
  const matches: JobCursor[] = []
  const expired: string[] = []
  let toSkip = query.skip ?? 0
  let scanned = 0
  let last: JobCursor | null = null
  let stop: 'full' | 'cap' | null = null
  const max = query.after === undefined ? '+inf' : String(query.after.score)
  for (let offset = 0; stop === null; offset += BATCH) {
    const flat = await redis.zrevrangebyscore(keys.jobsIndex(), max, '-inf', 'WITHSCORES', 'LIMIT', offset, BATCH)
    const entries = toEntries(flat, query.after)
    const fields = await readFilterFields(redis, keys, entries)
    for (const [index, entry] of entries.entries()) {
      const filterFields = fields[index] ?? []
      if (scanned >= MAX_SCANNED) {
        stop = 'cap'
        break
      }
      if (filterFields[1] == null) {
        expired.push(entry.jobId)
      } else if (isMatch(filterFields, query)) {
        if (toSkip > 0) {
          toSkip--
        } else if (matches.push(entry) > query.limit) {
          stop = 'full'
          break
        }
      }
      last = entry
      scanned++
    }
    if (flat.length < BATCH * 2) break
  }
  // One match more than the page was taken only to learn that a next page exists.
  if (stop === 'full') matches.pop()
  if (expired.length > 0) await redis.zrem(keys.jobsIndex(), ...expired)
  const jobs: T[] = []
  for (const match of matches) {
    const job = await get(match.jobId)
    if (job !== null) jobs.push(job)
  }
  // A full page resumes after its last job; a page cut short by the scan cap resumes after
  // the last entry scanned.
  const next = stop === 'full' ? (matches.at(-1) ?? null) : stop === 'cap' ? last : null
  return { jobs, next }
}

/** Whether [owner, state, primarykey] of a job (state null: expired) matches the query. */
function isMatch ([owner, state, primaryKey]: Array<string | null>, query: JobQuery): boolean {
  return state != null && (owner ?? '') === query.owner && (query.state === undefined || state === query.state) &&
    (query.primaryKey === undefined || primaryKey === query.primaryKey)
}

/** ZREVRANGEBYSCORE ... WITHSCORES as entries, without those at or before `after`. */
function toEntries (flat: string[], after: JobCursor | undefined): JobCursor[] {
  const entries: JobCursor[] = []
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const entry = { jobId: flat[i] as string, score: Number(flat[i + 1]) }
    // Equal scores come in descending member order: those >= the cursor's id were listed.
    if (after !== undefined && entry.score === after.score && entry.jobId >= after.jobId) continue
    entries.push(entry)
  }
  return entries
}

/**
 * owner, state and primarykey of each entry's job (state null: its keys expired). Sent
 * together, so ioredis writes them back to back; separate commands rather than a pipeline,
 * since the keys sit in different hash slots (DESIGN §7: the same code on Redis Cluster).
 */
async function readFilterFields (redis: Redis, keys: Keys, entries: JobCursor[]): Promise<Array<Array<string | null>>> {
  return await Promise.all(entries.map(async (entry) => await redis.hmget(keys.meta(entry.jobId), 'owner', 'state', 'primarykey')))
}
