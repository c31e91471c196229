/**
 * The whole service, started and stopped as one: spool dir ready (leftover partial uploads
 * swept), services built, HTTP listening, unfinished jobs resumed. main.ts wraps it with
 * process concerns; tests start it in-process on port 0.
 */
import { mkdir, readdir, unlink } from 'node:fs/promises'
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

export interface Service {
  readonly deps: Deps
  readonly server: Server
  readonly url: string
  /** SIGTERM semantics: stop intake, drain running jobs, flush, close everything. */
  stop: () => Promise<void>
}

export async function startService (config: Readonly<Config>, log: Logger, overrides: DepsOverrides = {}): Promise<Service> {
  await mkdir(config.upload.spoolDir, { recursive: true })
  await sweepPartialUploads(config.upload.spoolDir, log)
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
  deps.runner.resumeOwned().catch((err: unknown) => log.error({ err }, 'resuming jobs failed'))
  const sweepFailedFiles = (): void => {
    sweepExpiredFailedFiles(config.upload.spoolDir, async (jobId) => await deps.jobStore.get(jobId) !== null)
      .then((removed) => { if (removed > 0) log.info({ removed }, 'removed failed-record files of expired jobs') })
      .catch((err: unknown) => log.warn({ err }, 'sweeping failed-record files failed'))
  }
  // After an outage Redis may come back empty (no persistence): queued jobs it forgot are
  // registered again at once (issue 18 item 3). The first 'ready' is start-up's.
  let readyCount = isReady(deps.redis) ? 1 : 0
  deps.redis.on('ready', () => {
    if (readyCount++ === 0) return
    deps.runner.reconcileQueued().catch((err: unknown) => log.warn({ err }, 'reconciling queued jobs failed'))
  })
  sweepFailedFiles()
  const sweepTimer = setInterval(() => {
    sweepFailedFiles()
    deps.runner.reconcileQueued().catch((err: unknown) => log.warn({ err }, 'sweeping the spool dir failed'))
  }, SWEEP_INTERVAL_MS).unref()

  let stopping: Promise<void> | null = null
  return {
    deps,
    server,
    url,
    stop: async () => {
      stopping ??= (async () => {
        deps.isAcceptingUploads = false
        clearInterval(sweepTimer)
        const serverClosed = closeServer(server)
        await closeDeps(deps)
        server.closeAllConnections()
        await serverClosed
      })()
      await stopping
    }
  }
}

/** A partial spool file at start belongs to an upload that died with the last process. */
async function sweepPartialUploads (spoolDir: string, log: Logger): Promise<void> {
  for (const name of await readdir(spoolDir)) {
    if (!name.endsWith(PARTIAL_SUFFIX)) continue
    await unlink(join(spoolDir, name)).catch(() => {})
    log.info({ file: name }, 'removed partial upload left by a previous run')
  }
}
