/**
 * Builds the long-lived services in dependency order and closes them in reverse:
 * Redis → stores → job runner. Handlers and main.ts receive this one object.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { Config } from './config.js'
import type { Logger } from './logger.js'
import { createRedis, duplicateRedis, failFast, isReady, quitRedis } from './store/redis.js'
import { Metrics } from './http/metrics.js'
import type { HttpDeps } from './http/http-deps.js'
import { Keys } from './store/keys.js'
import { JobStore } from './store/job-store.js'
import { OutcomeStore } from './store/outcome-store.js'
import { JobRunner } from './runner/job-runner.js'
import { JobControl } from './runner/job-control.js'
import { LeaseStore } from './store/lease-store.js'
import { ControlChannel } from './store/control-channel.js'
import { specLimits } from './upload/accept-upload.js'
import { createTargetPolicy } from './delivery/target-policy.js'
import { createGuardedConnector, type LookupFunction } from './delivery/guarded-connector.js'
import { sendFinalCallback } from './delivery/final-callback.js'
import { callbackTarget } from './domain/job-spec.js'
import { createTlsContexts } from './delivery/tls-contexts.js'

/** Everything the HTTP layer is given (lib/http/http-deps.ts): built here, closed in closeDeps(). */
export type Deps = HttpDeps

/** Seams for tests: replace what the network would otherwise decide. */
export interface DepsOverrides {
  /** Name resolution for connect-time target checks (DNS rebinding tests). */
  readonly lookup?: LookupFunction
}

export function buildDeps (config: Readonly<Config>, log: Logger, overrides: DepsOverrides = {}): Deps {
  const redis = createRedis(config.redis, `chronos:${config.jobs.instanceId}`)
  const logError = (err: Error, node?: string): void => log.warn({ err: { message: err.message, code: (err as { code?: string }).code }, node }, 'redis connection error')
  redis.on('error', (err: Error) => logError(err))
  // A cluster reports a lost connection to one of its nodes here (a single server never does).
  redis.on('node error', (err: Error, node: string) => logError(err, node))
  const keys = new Keys(config.redis.keyPrefix)
  const jobStore = new JobStore(redis, keys, config.jobs.resultTtlSeconds)
  const outcomeStore = new OutcomeStore(redis, keys)
  const leaseStore = new LeaseStore(redis, keys, config.jobs.leaseMs)
  const subscriber = duplicateRedis(redis, `chronos:${config.jobs.instanceId}:control`)
  subscriber.on('error', () => {}) // the main connection already reports Redis errors
  const channel = new ControlChannel(redis, subscriber, keys)
  const targetPolicy = createTargetPolicy(config.delivery.allowedTargets)
  const tlsContexts = createTlsContexts(config.tls)
  // The runner and the metrics read each other: the gauges ask the runner at scrape time.
  let runnerRef: JobRunner | null = null
  const metrics = new Metrics({
    jobsByState: () => runnerRef?.jobsByState() ?? {},
    inFlightRequests: () => runnerRef?.inFlight ?? 0,
    leases: () => ({ held: runnerRef?.activeCount ?? 0, takeovers: runnerRef?.leaseStats.takeovers ?? 0, fenced: runnerRef?.leaseStats.fenced ?? 0 }),
    isRedisUp: () => isReady(redis),
    jobSignals: () => runnerRef?.jobSignals() ?? [],
    circuitOpens: () => runnerRef?.circuitStats.opens ?? 0
  })
  const runner = new JobRunner({
    jobs: config.jobs,
    upload: config.upload,
    specLimits: specLimits(config.delivery),
    jobStore,
    outcomeStore,
    leaseStore,
    channel,
    pauseGraceMs: config.http.shutdownGraceMs,
    createConnector: (spec) => createGuardedConnector({
      policy: targetPolicy,
      port: spec.port,
      timeoutMs: Math.min(spec.timeoutMs, 10_000),
      lookup: overrides.lookup,
      secureContext: tlsContexts.forTarget(spec.host, spec.port)
    }),
    onOutcome: (outcome) => metrics.recordOutcome(outcome),
    sendCallback: async (jobId, spec, statusJson, jobLog, event) => await sendFinalCallback({
      url: spec.callbackUrl as string,
      jobId,
      body: statusJson,
      // A job may pause itself more than once: each pause is its own message.
      webhookId: event === 'final' ? `${jobId}:final` : `${jobId}:paused:${Date.now()}`,
      maxAttempts: spec.maxAttempts,
      timeoutMs: spec.timeoutMs,
      secret: config.delivery.callbackSecret,
      createConnector: (url) => {
        const { host, port } = callbackTarget(url.href)
        return createGuardedConnector({
          policy: targetPolicy, port, timeoutMs: Math.min(spec.timeoutMs, 10_000), lookup: overrides.lookup, secureContext: tlsContexts.forTarget(host, port)
        })
      },
      log: jobLog
    }),
    log
  })
  runnerRef = runner
  const jobControl = new JobControl({
    instanceId: config.jobs.instanceId, runner, jobStore, leaseStore, channel, specLimits: specLimits(config.delivery), log
  })
  const eventLoopDelay = monitorEventLoopDelay({ resolution: 10 })
  eventLoopDelay.enable()
  return {
    config,
    log,
    redis,
    keys,
    jobStore: failFast(redis, jobStore),
    outcomeStore: failFast(redis, outcomeStore),
    jobRegistry: jobStore,
    runner,
    jobControl,
    channel,
    targetPolicy,
    tlsContexts,
    metrics,
    eventLoopDelay,
    startedAtMs: Date.now(),
    isAcceptingUploads: true
  }
}

/** How long shutdown waits beyond the grace period for final writes (an absent Redis). */
const CLOSE_SLACK_MS = 5000

/**
 * Drains running jobs within the grace period, then closes Redis. Bounded: with Redis
 * unreachable, final writes would wait forever, and what they would have recorded is
 * re-sent on resume anyway (at-least-once), so shutdown goes on without them.
 */
export async function closeDeps (deps: Deps): Promise<void> {
  deps.isAcceptingUploads = false
  const graceMs = deps.config.http.shutdownGraceMs
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), graceMs + CLOSE_SLACK_MS) })
  const result = await Promise.race([deps.runner.close(graceMs), deadline])
  clearTimeout(timer)
  if (result === 'timeout') deps.log.warn({ graceMs }, 'shutdown did not finish its final writes in time')
  deps.eventLoopDelay.disable()
  await deps.channel.close()
  await quitRedis(deps.redis)
}
