/**
 * GET /info: name, version, uptime, Node, Redis reachability, jobs, effective limits. No
 * secrets. Reachability is a PING answered within 500 ms (probeRedis), so /info itself
 * answers promptly even while Redis is frozen.
 */
import type { Middleware } from 'koa'
import type { HttpDeps as Deps } from '../http-deps.js'
import type { AppState } from '../app-state.js'
import { VERSION } from '../../version.js'
import { probeRedis } from '../../store/redis.js'

export function infoHandler (deps: Pick<Deps, 'config' | 'eventLoopDelay' | 'redis' | 'startedAtMs' | 'isAcceptingUploads' | 'runner'>): Middleware<AppState> {
  const { config } = deps
  return async function info (ctx) {
    const delay = deps.eventLoopDelay
    const isReachable = await probeRedis(deps.redis)
    ctx.body = {
      name: 'chronos',
      version: VERSION,
      uptime_s: Math.round((Date.now() - deps.startedAtMs) / 1000),
      node: process.version,
      instance_id: config.jobs.instanceId,
      redis: { reachable: isReachable, cluster: config.redis.clusterNodes.length > 0 },
      accepting_uploads: deps.isAcceptingUploads,
      jobs: { active: deps.runner.activeCount, queued: deps.runner.queuedCount },
      leases: { held: deps.runner.activeCount, lease_ms: config.jobs.leaseMs, ...deps.runner.leaseStats },
      event_loop_delay_p99_ms: Math.round(delay.percentile(99) / 1e4) / 100,
      memory_mb: memoryMb(),
      limits: {
        concurrency: config.delivery.concurrency,
        max_concurrency: config.delivery.maxConcurrency,
        max_active_jobs: config.jobs.maxActiveJobs,
        max_in_flight: config.jobs.maxInFlight,
        max_upload_bytes: config.upload.maxUploadBytes,
        max_line_bytes: config.upload.maxLineBytes,
        timeout_ms: config.delivery.timeoutMs,
        max_attempts: config.delivery.maxAttempts,
        result_ttl_s: config.jobs.resultTtlSeconds,
        auth: config.http.apiKeys.length > 0,
        target_policy: config.delivery.allowedTargets.length > 0 ? 'allow-list' : 'open'
      }
    }
  }
}

function memoryMb (): Record<string, number> {
  const usage = process.memoryUsage()
  const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024 * 10) / 10
  return { rss: mb(usage.rss), heap_used: mb(usage.heapUsed), heap_total: mb(usage.heapTotal), external: mb(usage.external), array_buffers: mb(usage.arrayBuffers) }
}
