/**
 * The status object of the API (docs/api.md), derived from a job's stored meta and counts. Pure, so
 * the arithmetic (rate, eta, percentiles) is unit-tested without Redis.
 */
import type { CircuitState, JobState, StoredJob } from './job-meta.js'
import { percentileFromBuckets, round2 } from './latency-histogram.js'

export interface JobStatus {
  job_id: string
  primarykey: string
  state: JobState
  total: number
  count: number
  succeeded: number
  failed: number
  pending: number
  /** Records never sent because the job was cancelled (they stay in `pending`). */
  unsent: number
  retries: number
  min_time: number | null
  max_time: number | null
  avg_time: number | null
  p50_time: number | null
  p95_time: number | null
  p99_time: number | null
  status_codes: Record<string, number>
  errors: Record<string, number>
  submitted_at: string | null
  started_at: string | null
  finished_at: string | null
  /** Records counted per second since the job started. */
  rate: number | null
  /** Estimated milliseconds to the end at the current rate; 0 once finished. */
  eta_ms: number | null
  /** The instance holding the job's lease, or the last one that held (or registered) it. */
  instance: string
  /** When the holder's lease ends unless renewed; null when no instance holds the job. */
  lease_expires_at: string | null
  /** The live concurrency limit: `concurrency`, unless adaptive_concurrency moves it (DESIGN §8). */
  concurrency_limit: number
  /** The job's circuit breaker: open while its target looks down, half_open while one probe is out. */
  circuit: CircuitState
  /** Why a paused job paused itself: `circuit_open` (its target was down CHRONOS_CIRCUIT_MAX_OPEN_MS). */
  pause_reason?: string
  error?: { code: string, message: string }
  /** Set on a retry-failed job: the job whose failures it sends again. */
  parent_job_id?: string
}

export function toJobStatus ({ meta, counts }: StoredJob, nowMs: number = Date.now()): JobStatus {
  const { total, state, startedAt, finishedAt } = meta
  const { count, timeMinMs: minTime, timeMaxMs: maxTime } = counts
  const percentile = (p: number): number | null =>
    minTime === null || maxTime === null ? null : percentileFromBuckets(counts.buckets, p, minTime, maxTime)

  const elapsedMs = startedAt === null ? 0 : (finishedAt === null ? nowMs : Date.parse(finishedAt)) - Date.parse(startedAt)
  const rate = elapsedMs > 0 ? round2(count / (elapsedMs / 1000)) : null
  const pending = Math.max(total - count, 0)
  let etaMs: number | null = null
  if (finishedAt !== null || pending === 0) etaMs = 0
  else if (rate !== null && rate > 0) etaMs = Math.round((pending / rate) * 1000)

  const status: JobStatus = {
    job_id: meta.jobId,
    primarykey: meta.primaryKey,
    state,
    total,
    count,
    succeeded: counts.succeeded,
    failed: counts.failed,
    pending,
    unsent: state === 'cancelled' ? pending : 0,
    retries: counts.retries,
    min_time: minTime,
    max_time: maxTime,
    avg_time: count > 0 ? round2(counts.timeSumMs / count) : null,
    p50_time: percentile(50),
    p95_time: percentile(95),
    p99_time: percentile(99),
    status_codes: { ...counts.statusCodes },
    errors: { ...counts.errors },
    submitted_at: meta.submittedAt,
    started_at: startedAt,
    finished_at: finishedAt,
    rate,
    eta_ms: etaMs,
    instance: meta.instanceId,
    lease_expires_at: meta.leaseExpiresAt,
    concurrency_limit: meta.concurrencyLimit,
    circuit: meta.circuit
  }
  if (meta.pauseReason !== null && state === 'paused') status.pause_reason = meta.pauseReason
  if (meta.parentJobId !== null) status.parent_job_id = meta.parentJobId
  if (meta.error !== null) status.error = { ...meta.error }
  return status
}
