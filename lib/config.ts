/**
 * The only reader of process.env. loadConfig() parses every field, collects every problem
 * and throws one ConfigError listing them all, so a bad deploy fails with one clear message.
 * The result is deep-frozen and grouped by area; components receive only their own slice.
 */
import { hostname } from 'node:os'
import { resolve } from 'node:path'
import { ConfigError } from './errors.js'
import { targetRuleProblem } from './allowed-targets.js'
import { loadTlsConfig, type TlsConfig } from './tls-config.js'

export type { TlsConfig, TlsIdentity, TargetIdentity } from './tls-config.js'

export interface HttpConfig {
  /** @defaultValue 8080 */
  readonly port: number
  /** @defaultValue '0.0.0.0' */
  readonly host: string
  /** Bearer keys; empty means the API is open. @defaultValue [] */
  readonly apiKeys: readonly string[]
  /** An upload that sends nothing for this long is cut off (idle, not total, time). @defaultValue 60000 */
  readonly uploadIdleTimeoutMs: number
  /** SIGTERM waits this long for in-flight requests before aborting them. @defaultValue 30000 */
  readonly shutdownGraceMs: number
}

export interface UploadConfig {
  /** @defaultValue './var/spool' */
  readonly spoolDir: string
  /** Decompressed bytes. @defaultValue 10 GiB */
  readonly maxUploadBytes: number
  /** One line, decompressed. @defaultValue 1 MiB */
  readonly maxLineBytes: number
  /** /readyz fails when the spool disk has less free space than this. @defaultValue 100 MiB */
  readonly minFreeBytes: number
}

export interface JobsConfig {
  /** Jobs running at once; the rest wait `queued`. @defaultValue 16 */
  readonly maxActiveJobs: number
  /** Requests in flight at once across the instance's jobs, shared fairly between them. @defaultValue 512 */
  readonly maxInFlight: number
  /** Finished jobs' keys expire after this. @defaultValue 604800 (7 days) */
  readonly resultTtlSeconds: number
  /** Names the instance in logs, metrics and the status object's `instance`. @defaultValue os.hostname() */
  readonly instanceId: string
  /** A job's lease: renewed every third of it; another instance takes the job over once it ends. @defaultValue 15000 */
  readonly leaseMs: number
  /** Outcomes per Redis call from the status sink. @defaultValue 1000 */
  readonly outcomeBatchSize: number
  /** A partial batch is flushed after this long. @defaultValue 300 */
  readonly flushIntervalMs: number
  /** A job whose circuit stays open this long pauses (`pause_reason: circuit_open`). @defaultValue 3600000 (1 hour) */
  readonly circuitMaxOpenMs: number
}

export interface DeliveryConfig {
  /** Default in-flight requests per job. @defaultValue 4 */
  readonly concurrency: number
  /** Upper bound for a job's `concurrency`. @defaultValue 256 */
  readonly maxConcurrency: number
  /** Default per-attempt timeout. @defaultValue 30000 */
  readonly timeoutMs: number
  /** Default attempts per record. @defaultValue 3 */
  readonly maxAttempts: number
  /** CHRONOS_ALLOWED_TARGETS entries; empty means any target but the always-refused ranges. */
  readonly allowedTargets: readonly string[]
  /** Signs completion callbacks (Standard Webhooks); null sends them unsigned. @defaultValue null */
  readonly callbackSecret: string | null
}

/** One Redis Cluster node to start from (the client discovers the rest). */
export interface RedisNode {
  readonly host: string
  readonly port: number
}

export interface RedisConfig {
  /** Unused when `clusterNodes` is set. @defaultValue 'redis://127.0.0.1:6379' */
  readonly url: string
  /** CHRONOS_REDIS_CLUSTER_NODES: empty means one Redis server at `url`. @defaultValue [] */
  readonly clusterNodes: readonly RedisNode[]
  /** @defaultValue 'chronos' */
  readonly keyPrefix: string
}

export interface LogConfig {
  /** @defaultValue 'info' */
  readonly level: string
}

export interface Config {
  readonly http: HttpConfig
  readonly upload: UploadConfig
  readonly jobs: JobsConfig
  readonly delivery: DeliveryConfig
  readonly redis: RedisConfig
  readonly log: LogConfig
  /** Outgoing TLS: private CA, client certificates (tls-config.ts). */
  readonly tls: TlsConfig
}

export type Env = Readonly<Record<string, string | undefined>>

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']
const GIB = 1024 ** 3
const MIB = 1024 ** 2

/** Reads one variable at a time and remembers every problem instead of stopping at the first. */
class EnvReader {
  readonly problems: string[] = []
  readonly #env: Env

  constructor (env: Env) {
    this.#env = env
  }

  string (name: string, fallback: string): string {
    const raw = this.#env[name]
    return raw === undefined || raw.trim() === '' ? fallback : raw.trim()
  }

  integer (name: string, fallback: number, min: number, max: number): number {
    const raw = this.#env[name]
    if (raw === undefined || raw.trim() === '') return fallback
    const value = Number(raw.trim())
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`)
      return fallback
    }
    return value
  }

  list (name: string): string[] {
    const raw = this.#env[name]
    if (raw === undefined) return []
    return raw.split(',').map((item) => item.trim()).filter((item) => item !== '')
  }

  /** `host:port,host:port,…` (an IPv6 host in brackets: `[::1]:7000`). */
  hostPorts (name: string): RedisNode[] {
    const nodes: RedisNode[] = []
    for (const entry of this.list(name)) {
      const match = /^(\[[0-9A-Fa-f:.]+\]|[^\s:[\]]+):(\d{1,5})$/.exec(entry)
      const port = Number(match?.[2])
      if (match === null || port < 1 || port > 65535) {
        this.problems.push(`${name} entries must be host:port with a port from 1 to 65535, got ${JSON.stringify(entry)}`)
        continue
      }
      nodes.push({ host: (match[1] as string).replace(/^\[(.*)\]$/, '$1'), port })
    }
    return nodes
  }

  oneOf (name: string, fallback: string, allowed: readonly string[]): string {
    const value = this.string(name, fallback)
    if (!allowed.includes(value)) {
      this.problems.push(`${name} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`)
      return fallback
    }
    return value
  }
}

export function loadConfig (env: Env = process.env): Readonly<Config> {
  const read = new EnvReader(env)

  const http: HttpConfig = {
    port: read.integer('PORT', 8080, 0, 65535),
    host: read.string('HOST', '0.0.0.0'),
    apiKeys: read.list('CHRONOS_API_KEYS'),
    uploadIdleTimeoutMs: read.integer('CHRONOS_UPLOAD_IDLE_TIMEOUT_MS', 60_000, 100, 3_600_000),
    shutdownGraceMs: read.integer('CHRONOS_SHUTDOWN_GRACE_MS', 30_000, 0, 3_600_000)
  }
  const upload: UploadConfig = {
    spoolDir: resolve(read.string('CHRONOS_SPOOL_DIR', './var/spool')),
    maxUploadBytes: read.integer('CHRONOS_MAX_UPLOAD_BYTES', 10 * GIB, 1, Number.MAX_SAFE_INTEGER),
    maxLineBytes: read.integer('CHRONOS_MAX_LINE_BYTES', MIB, 64, 64 * MIB),
    minFreeBytes: read.integer('CHRONOS_SPOOL_MIN_FREE_BYTES', 100 * MIB, 0, Number.MAX_SAFE_INTEGER)
  }
  const jobs: JobsConfig = {
    maxActiveJobs: read.integer('CHRONOS_MAX_ACTIVE_JOBS', 16, 1, 1024),
    maxInFlight: read.integer('CHRONOS_MAX_IN_FLIGHT', 512, 1, 1_000_000),
    resultTtlSeconds: read.integer('CHRONOS_RESULT_TTL', 7 * 24 * 3600, 1, 10 * 365 * 24 * 3600),
    instanceId: read.string('CHRONOS_INSTANCE_ID', hostname()),
    leaseMs: read.integer('CHRONOS_LEASE_MS', 15_000, 300, 3_600_000),
    outcomeBatchSize: read.integer('CHRONOS_OUTCOME_BATCH_SIZE', 1000, 1, 100_000),
    flushIntervalMs: read.integer('CHRONOS_FLUSH_INTERVAL_MS', 300, 1, 60_000),
    circuitMaxOpenMs: read.integer('CHRONOS_CIRCUIT_MAX_OPEN_MS', 3_600_000, 100, 7 * 24 * 3_600_000)
  }
  const delivery: DeliveryConfig = {
    concurrency: read.integer('CHRONOS_CONCURRENCY', 4, 1, 100_000),
    maxConcurrency: read.integer('CHRONOS_MAX_CONCURRENCY', 256, 1, 100_000),
    timeoutMs: read.integer('CHRONOS_TIMEOUT_MS', 30_000, 1, 3_600_000),
    maxAttempts: read.integer('CHRONOS_MAX_ATTEMPTS', 3, 1, 10),
    allowedTargets: read.list('CHRONOS_ALLOWED_TARGETS'),
    callbackSecret: read.string('CHRONOS_CALLBACK_SECRET', '') || null
  }
  const redis: RedisConfig = {
    url: read.string('REDIS_URL', 'redis://127.0.0.1:6379'),
    clusterNodes: read.hostPorts('CHRONOS_REDIS_CLUSTER_NODES'),
    keyPrefix: read.string('CHRONOS_KEY_PREFIX', 'chronos')
  }
  const log: LogConfig = {
    level: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS)
  }
  const tls = loadTlsConfig(env, read.problems)

  for (const entry of delivery.allowedTargets) {
    const problem = targetRuleProblem(entry)
    if (problem !== null) read.problems.push(problem)
  }
  if (delivery.concurrency > delivery.maxConcurrency) {
    read.problems.push(`CHRONOS_CONCURRENCY (${delivery.concurrency}) must not exceed CHRONOS_MAX_CONCURRENCY (${delivery.maxConcurrency})`)
  }
  // REDIS_URL is not used on a cluster, so a leftover value there is no problem.
  if (redis.clusterNodes.length === 0 && !/^rediss?:\/\//.test(redis.url)) {
    read.problems.push(`REDIS_URL must start with redis:// or rediss://, got ${JSON.stringify(redis.url)}`)
  }
  if (!/^[A-Za-z0-9._:-]+$/.test(redis.keyPrefix)) {
    read.problems.push(`CHRONOS_KEY_PREFIX may hold only A-Z a-z 0-9 . _ : -, got ${JSON.stringify(redis.keyPrefix)}`)
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems)

  return deepFreeze({ http, upload, jobs, delivery, redis, log, tls })
}

function deepFreeze<T extends object> (value: T): Readonly<T> {
  for (const child of Object.values(value)) {
    if (typeof child === 'object' && child !== null) deepFreeze(child)
  }
  return Object.freeze(value)
}
