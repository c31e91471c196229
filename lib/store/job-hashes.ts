/**
 * The job's meta and counts hashes, as Redis returns them, turned into typed objects. The
 * only place that knows the hash field names besides the writers in job-store.ts and the
 * counting script (lua/record-outcomes-5.lua). Tolerant: a missing or garbled field reads
 * as its empty value, never as an exception (a status read must not fail on one bad field).
 */
import type { JobCounts, JobMeta, JobState, StoredJob } from '../domain/job-meta.js'

/** `leaseTtlMs` is the lease key's PTTL (negative when there is no lease). */
export function jobFromHashes (meta: Readonly<Record<string, string>>, counts: Readonly<Record<string, string>>, leaseTtlMs = -2, nowMs = Date.now()): StoredJob {
  return { meta: metaFromHash(meta, leaseTtlMs, nowMs), counts: countsFromHash(counts) }
}

function metaFromHash (hash: Readonly<Record<string, string>>, leaseTtlMs: number, nowMs: number): JobMeta {
  return {
    jobId: hash.job_id ?? '',
    primaryKey: hash.primarykey ?? '',
    specJson: hash.spec ?? 'null',
    state: (hash.state ?? 'failed') as JobState,
    total: int(hash.total),
    spoolPath: hash.spool_path ?? '',
    instanceId: hash.instance ?? '',
    leaseExpiresAt: leaseTtlMs >= 0 ? new Date(nowMs + leaseTtlMs).toISOString() : null,
    isRunOpen: hash.run_open === '1',
    control: hash.control === 'cancel' || hash.control === 'pause' ? hash.control : null,
    owner: hash.owner ?? '',
    submittedAt: hash.submitted_at ?? null,
    startedAt: hash.started_at ?? null,
    finishedAt: hash.finished_at ?? null,
    parentJobId: hash.parent_job_id ?? null,
    error: hash.error_code === undefined ? null : { code: hash.error_code, message: hash.error_message ?? '' },
    concurrencyLimit: hash.concurrency_limit === undefined ? specConcurrency(hash.spec) : int(hash.concurrency_limit),
    circuit: hash.circuit === 'open' || hash.circuit === 'half_open' ? hash.circuit : 'closed',
    pauseReason: hash.pause_reason ?? null
  }
}

/** The spec's `concurrency`, for a job whose holder has not written its live limit yet (1 without a spec). */
function specConcurrency (specJson: string | undefined): number {
  try {
    const concurrency = (JSON.parse(specJson ?? 'null') as { concurrency?: unknown } | null)?.concurrency
    return typeof concurrency === 'number' && concurrency >= 1 ? concurrency : 1
  } catch {
    return 1
  }
}

function countsFromHash (hash: Readonly<Record<string, string>>): JobCounts {
  const statusCodes: Record<string, number> = {}
  const errors: Record<string, number> = {}
  const buckets = new Map<number, number>()
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith('s:')) statusCodes[field.slice(2)] = int(value)
    else if (field.startsWith('e:')) errors[field.slice(2)] = int(value)
    else if (field.startsWith('h:')) buckets.set(int(field.slice(2)), int(value))
  }
  const count = int(hash.count)
  return {
    count,
    succeeded: int(hash.succeeded),
    failed: int(hash.failed),
    retries: int(hash.retries),
    timeSumMs: count > 0 ? Number(hash.time_sum) : 0,
    timeMinMs: count > 0 ? Number(hash.time_min) : null,
    timeMaxMs: count > 0 ? Number(hash.time_max) : null,
    statusCodes,
    errors,
    buckets
  }
}

function int (value: string | undefined): number {
  const n = Number(value)
  return Number.isFinite(n) ? n : 0
}
