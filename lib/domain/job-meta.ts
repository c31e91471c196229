/**
 * What the store knows about a job, typed: its registration and state (JobMeta) and its
 * running counts (JobCounts). The store turns its hashes into these (store/job-hashes.ts);
 * everything above it reads fields, never raw hash strings.
 */
export type JobState = 'queued' | 'running' | 'paused' | 'completed' | 'cancelled' | 'failed'

/** States in which a job still holds its primarykey and may send. */
export const LIVE_STATES: ReadonlySet<JobState> = new Set(['queued', 'running', 'paused'])

export function isLive (state: JobState): boolean {
  return LIVE_STATES.has(state)
}

/** A job's circuit breaker (DESIGN §8): half_open while one probe is out. */
export type CircuitState = 'closed' | 'open' | 'half_open'

export interface JobError {
  readonly code: string
  readonly message: string
}

export interface JobMeta {
  readonly jobId: string
  readonly primaryKey: string
  /** The JobSpec in wire form (JSON text), as line 1 of the spool file. */
  readonly specJson: string
  readonly state: JobState
  readonly total: number
  readonly spoolPath: string
  /** The instance that holds the job's lease, or held it last (the one that registered it, before any). */
  readonly instanceId: string
  /** When the holder's lease ends unless renewed; null when nobody holds one. */
  readonly leaseExpiresAt: string | null
  /** A run of the job was opened and never closed in order: its holder died, froze or lost Redis. */
  readonly isRunOpen: boolean
  /** What another instance asked of the job's holder and it has not yet done. */
  readonly control: 'cancel' | 'pause' | null
  /** Fingerprint of the API key that created the job, '' when the API is open. */
  readonly owner: string
  readonly submittedAt: string | null
  readonly startedAt: string | null
  readonly finishedAt: string | null
  /** The job whose failed records this one sends again (retry-failed). */
  readonly parentJobId: string | null
  /** Why a `failed` job failed. */
  readonly error: JobError | null
  /** The live concurrency limit its holder last wrote; the spec's concurrency before that. */
  readonly concurrencyLimit: number
  readonly circuit: CircuitState
  /** Why a job paused itself (`circuit_open`); null when paused on request or not paused. */
  readonly pauseReason: string | null
}

export interface JobCounts {
  readonly count: number
  readonly succeeded: number
  readonly failed: number
  /** Attempts beyond each record's first, summed. */
  readonly retries: number
  /** Sum, min and max of the records' `time_ms` (min and max null before the first). */
  readonly timeSumMs: number
  readonly timeMinMs: number | null
  readonly timeMaxMs: number | null
  /** Records by their last HTTP status, and failures by reason. */
  readonly statusCodes: Readonly<Record<string, number>>
  readonly errors: Readonly<Record<string, number>>
  /** Latency histogram: records per bucket (latency-histogram.ts). */
  readonly buckets: ReadonlyMap<number, number>
}

export interface StoredJob {
  readonly meta: JobMeta
  readonly counts: JobCounts
}

/** When the job was submitted, in ms (the queue's order); now when the store lost it. */
export function submittedAtMs (meta: Pick<JobMeta, 'submittedAt'> | undefined, nowMs: number = Date.now()): number {
  const ms = Date.parse(meta?.submittedAt ?? '')
  return Number.isFinite(ms) ? ms : nowMs
}
