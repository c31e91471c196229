/** What a JobRunner is built from, and the lease counts it keeps (shared with leased-job.ts). */
import type { JobsConfig, UploadConfig } from '../config.js'
import type { Logger } from '../logger.js'
import type { JobStore } from '../store/job-store.js'
import type { OutcomeStore } from '../store/outcome-store.js'
import type { LeaseStore } from '../store/lease-store.js'
import type { ControlChannel } from '../store/control-channel.js'
import type { JobSpec, JobSpecLimits } from '../domain/job-spec.js'
import type { Outcome } from '../domain/outcome.js'
import type { ConnectorFactory } from '../delivery/http-pools.js'

/** Why the callback is called: the job ended, or it paused itself (circuit open too long). */
export type CallbackEvent = 'final' | 'paused'

export type SendCallback = (jobId: string, spec: JobSpec, statusJson: string, log: Logger, event: CallbackEvent) => Promise<unknown>

export interface JobRunnerDeps {
  readonly jobs: JobsConfig
  readonly upload: UploadConfig
  readonly specLimits: JobSpecLimits
  readonly jobStore: JobStore
  readonly outcomeStore: OutcomeStore
  readonly leaseStore: LeaseStore
  readonly channel: ControlChannel
  readonly createConnector: ConnectorFactory
  /** How long a pause waits for in-flight requests before it stops them (they are sent again on resume). */
  readonly pauseGraceMs: number
  /** POSTs the status object to the job's callback_url at its end, or when it paused itself (never rejects). */
  readonly sendCallback?: SendCallback
  /** Sees every outcome as it reaches the sink (metrics). */
  readonly onOutcome?: (outcome: Outcome) => void
  readonly log: Logger
}

/** What this instance's lease work has done since it started (/info, /metrics). */
export interface LeaseStats {
  takeovers: number
  fenced: number
}

/** What this instance's runs have seen of their targets since it started (/metrics). */
export interface CircuitStats {
  /** Circuits opened (closed → open). */
  opens: number
}
