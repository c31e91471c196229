/**
 * The services the HTTP layer is given, built by lib/deps.ts. Declared here so that http/
 * depends only on the layers below it, never on the composition root; each handler takes
 * the slice it uses (`Pick<HttpDeps, …>`).
 */
import type { IntervalHistogram } from 'node:perf_hooks'
import type { Config } from '../config.js'
import type { Logger } from '../logger.js'
import type { Redis } from '../store/redis.js'
import type { Keys } from '../store/keys.js'
import type { JobStore } from '../store/job-store.js'
import type { OutcomeStore } from '../store/outcome-store.js'
import type { JobRunner } from '../runner/job-runner.js'
import type { JobControl } from '../runner/job-control.js'
import type { ControlChannel } from '../store/control-channel.js'
import type { TargetPolicy } from '../delivery/target-policy.js'
import type { TlsContexts } from '../delivery/tls-contexts.js'
import type { Metrics } from './metrics.js'

export interface HttpDeps {
  readonly config: Readonly<Config>
  readonly log: Logger
  readonly redis: Redis
  readonly keys: Keys
  /** Fail-fast views (store/redis.ts failFast): a slow or absent Redis answers 503. */
  readonly jobStore: JobStore
  readonly outcomeStore: OutcomeStore
  /**
   * The job store itself, for registration only (upload, retry-failed): registration bounds
   * its own wait and must see its commands settle before undoing them (runner/register-job.ts).
   */
  readonly jobRegistry: JobStore
  readonly runner: JobRunner
  /** Cancel, pause and resume of any job of the fleet. */
  readonly jobControl: JobControl
  /** The fleet's pub/sub doorbell (closed at shutdown). */
  readonly channel: ControlChannel
  readonly targetPolicy: TargetPolicy
  /** Outgoing TLS trust and client certificates, for the dry run's probe. */
  readonly tlsContexts: TlsContexts
  readonly metrics: Metrics
  readonly eventLoopDelay: IntervalHistogram
  readonly startedAtMs: number
  /** Flipped off at SIGTERM: new uploads get 503. */
  isAcceptingUploads: boolean
}
