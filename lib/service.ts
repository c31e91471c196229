/**
 * The whole service, started and stopped as one: spool dir ready (dead partial uploads
 * swept), services built, HTTP listening, jobs taken from the fleet's queue. main.ts wraps it
 * with process concerns; tests start it in-process on port 0.
 */
import { mkdir, readdir, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Server } from 'node:http'
import type { Config } from './config.js'
import type { Logger } from './logger.js'
import { buildDeps, closeDeps, type Deps, type DepsOverrides } from './deps.js'
import { createApp } from './http/app.js'
import { closeServer, listen, serverPort } from './http/server.js'
import { PARTIAL_SUFFIX } from './spool/spool-writer.js'
import { sweepExpiredFailedFiles } from './spool/extract-failed.js'
import { warnAboutRedisPolicy } from './store/redis-checks.js'
import { isReady, waitUntilReady } from './store/redis.js'

/** How long start-up waits for Redis before serving anyway (uploads get 503 meanwhile). */
const REDIS_BOOT_WAIT_MS = 5000
/** How often failed-record files of expired jobs are removed. */
const SWEEP_INTERVAL_MS = 3600_000
/** How often the spool dir is checked against Redis (lost jobs, unqueued jobs, dead partial uploads). */
const RECONCILE_INTERVAL_MS = 60_000
/**
 * A partial upload untouched this long beyond the upload idle timeout is dead: its
 * connection would have been cut off. Younger ones may be another instance's live upload.
 */
const PARTIAL_SLACK_MS = 60_000

export interface Service {
  readonly deps: Deps
  readonly server: Server
  readonly url: string
  /** SIGTERM semantics: stop intake, drain running jobs, flush, close everything. */
  stop: () => Promise<void>
}

export async function startService (config: Readonly<Config>, log: Logger, overrides: DepsOverrides = {}): Promise<Service> {
  await mkdir(config.upload.spoolDir, { recursive: true })
  const partialMaxAgeMs = config.http.uploadIdleTimeoutMs + PARTIAL_SLACK_MS
  await sweepPartialUploads(config.upload.spoolDir, partialMaxAgeMs, log)
  const deps = buildDeps(config, log, overrides)
  if (!await waitUntilReady(deps.redis, REDIS_BOOT_WAIT_MS)) {
    log.warn({ waitedMs: REDIS_BOOT_WAIT_MS }, 'redis is not reachable yet: uploads get 503 until it is')
  }
  if (config.http.apiKeys.length === 0) log.warn('CHRONOS_API_KEYS is not set: the API is open to anyone who can reach it')
  const server = await listen(createApp(deps).callback(), config.http, log.child({ component: 'http' }))
  const host = config.http.host === '0.0.0.0' || config.http.host === '::' ? '127.0.0.1' : config.http.host
  const url = `http://${host}:${serverPort(server)}`
  log.info({ url, instanceId: config.jobs.instanceId }, 'chronos listening')
  warnAboutRedisPolicy(deps.redis, log).catch(() => {})
  deps.channel.open().catch((err: unknown) => log.warn({ err }, 'subscribing to the control channel failed'))
  deps.runner.start().catch((err: unknown) => log.error({ err }, 'starting the job runner failed'))
  const sweepFailedFiles = (): void => {
    sweepExpiredFailedFiles(config.upload.spoolDir, async (jobId) => await deps.jobStore.get(jobId) !== null)
      .then((removed) => { if (removed > 0) log.info({ removed }, 'removed failed-record files of expired jobs') })
      .catch((err: unknown) => log.warn({ err }, 'sweeping failed-record files failed'))
  }
  const reconcile = (): void => {
    deps.runner.sweep().catch((err: unknown) => log.warn({ err }, 'sweeping the spool dir failed'))
  }
  // After an outage Redis may come back empty (no persistence): queued jobs it forgot are
  // registered again at once (issue 18 item 3). The first 'ready' is start-up's.
  let readyCount = isReady(deps.redis) ? 1 : 0
  deps.redis.on('ready', () => {
    if (readyCount++ > 0) reconcile()
  })
  sweepFailedFiles()
  const sweepTimer = setInterval(sweepFailedFiles, SWEEP_INTERVAL_MS).unref()
  const reconcileTimer = setInterval(() => {
    reconcile()
    sweepPartialUploads(config.upload.spoolDir, partialMaxAgeMs, log).catch((err: unknown) => log.warn({ err }, 'sweeping partial uploads failed'))
  }, RECONCILE_INTERVAL_MS).unref()

  let stopping: Promise<void> | null = null
  return {
    deps,
    server,
    url,
    stop: async () => {
      stopping ??= (async () => {
        deps.isAcceptingUploads = false
        clearInterval(sweepTimer)
        clearInterval(reconcileTimer)
        const serverClosed = closeServer(server)
        await closeDeps(deps)
        server.closeAllConnections()
        await serverClosed
      })()
      await stopping
    }
  }
}

/**
 * Partial spool files nobody has written to for `maxAgeMs`: uploads that died with their
 * process. The spool dir may be shared by a fleet, so a fresh one is another instance's
 * upload in progress and stays.
 */
async function sweepPartialUploads (spoolDir: string, maxAgeMs: number, log: Logger): Promise<void> {
  const nowMs = Date.now()
  for (const name of await readdir(spoolDir)) {
    if (!name.endsWith(PARTIAL_SUFFIX)) continue
    const path = join(spoolDir, name)
    const modifiedMs = await stat(path).then((stats) => stats.mtimeMs, () => nowMs)
    if (nowMs - modifiedMs < maxAgeMs) continue
    await unlink(path).catch(() => {})
    log.info({ file: name }, 'removed a partial upload nobody writes to any more')
  }
}
