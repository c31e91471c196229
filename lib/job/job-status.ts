/**
 * The status object of DESIGN §3, derived from a job's stored meta and counts. Pure, so
 * the arithmetic (rate, eta, percentiles) is unit-tested without Redis.
 */
import type { JobSnapshot, JobState } from '../store/job-store.js'
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
  error?: { code: string, message: string }
  /** Set on a retry-failed job: the job whose failures it sends again. */
  parent_job_id?: string
}

export function toJobStatus ({ meta, counts }: JobSnapshot, nowMs: number = Date.now()): JobStatus {
  const total = int(meta.total)
  const count = int(counts.count)
  const statusCodes: Record<string, number> = {}
  const errors: Record<string, number> = {}
  const buckets = new Map<number, number>()
  for (const [field, value] of Object.entries(counts)) {
    if (field.startsWith('s:')) statusCodes[field.slice(2)] = int(value)
    else if (field.startsWith('e:')) errors[field.slice(2)] = int(value)
    else if (field.startsWith('h:')) buckets.set(int(field.slice(2)), int(value))
  }
  const minTime = count > 0 ? Number(counts.time_min) : null
  const maxTime = count > 0 ? Number(counts.time_max) : null
  const percentile = (p: number): number | null =>
    minTime === null || maxTime === null ? null : percentileFromBuckets(buckets, p, minTime, maxTime)

  const startedAt = meta.started_at ?? null
  const finishedAt = meta.finished_at ?? null
  const state = (meta.state ?? 'failed') as JobState
  const elapsedMs = startedAt === null ? 0 : (finishedAt === null ? nowMs : Date.parse(finishedAt)) - Date.parse(startedAt)
  const rate = elapsedMs > 0 ? round2(count / (elapsedMs / 1000)) : null
  const pending = Math.max(total - count, 0)
  let etaMs: number | null = null
  if (finishedAt !== null || pending === 0) etaMs = 0
  else if (rate !== null && rate > 0) etaMs = Math.round((pending / rate) * 1000)

  const status: JobStatus = {
    job_id: meta.job_id ?? '',
    primarykey: meta.primarykey ?? '',
    state,
    total,
    count,
    succeeded: int(counts.succeeded),
    failed: int(counts.failed),
    pending,
    unsent: state === 'cancelled' ? pending : 0,
    retries: int(counts.retries),
    min_time: minTime,
    max_time: maxTime,
    avg_time: count > 0 ? round2(Number(counts.time_sum) / count) : null,
    p50_time: percentile(50),
    p95_time: percentile(95),
    p99_time: percentile(99),
    status_codes: statusCodes,
    errors,
    submitted_at: meta.submitted_at ?? null,
    started_at: startedAt,
    finished_at: finishedAt,
    rate,
    eta_ms: etaMs
  }
  if (meta.parent_job_id !== undefined) status.parent_job_id = meta.parent_job_id
  if (meta.error_code !== undefined) status.error = { code: meta.error_code, message: meta.error_message ?? '' }
  return status
}

function int (value: string | undefined): number {
  const n = Number(value)
  return Number.isFinite(n) ? n : 0
}
