// startChronos(): the real service (lib/service.ts) on 127.0.0.1 port 0 against the shared
// Redis (or one given, or the Redis Cluster named by CHRONOS_REDIS_CLUSTER_NODES), with a unique key prefix, a temporary spool dir and logs captured
// as parsed lines. stop() has SIGTERM semantics; cleanup() also deletes the test's keys and
// spool dir. Helpers speak HTTP to it like any client would, and check what a job left behind.
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { expect } from 'chai'
import { Cluster, Redis } from 'ioredis'
import { loadConfig, type Config } from '../../lib/config.js'
import { createLogger } from '../../lib/logger.js'
import { startService, type Service } from '../../lib/service.js'
import type { DepsOverrides } from '../../lib/deps.js'
import { httpRequest, type HttpAnswer } from './http.js'
import { checkAnswer } from './openapi-check.js'
import { deleteKeysWithPrefix, sharedRedis, uniquePrefix } from './redis.js'
import { startTarget, type Target, type TargetScript } from './target.js'

export type { HttpAnswer }

export interface Chronos {
  readonly url: string
  readonly service: Service
  readonly config: Readonly<Config>
  readonly prefix: string
  readonly spoolDir: string
  /** Every log line written so far, parsed. */
  readonly logs: Array<Record<string, unknown>>
  /** A plain client on the same Redis (a cluster client on a cluster), for assertions on keys. */
  readonly redis: Redis | Cluster
  stop: () => Promise<void>
  /** stop(), then remove the test's keys and spool dir. */
  cleanup: () => Promise<void>
  post: (path: string, body?: string | Buffer, headers?: Record<string, string>) => Promise<HttpAnswer>
  get: (path: string, headers?: Record<string, string>) => Promise<HttpAnswer>
  del: (path: string, headers?: Record<string, string>) => Promise<HttpAnswer>
  /** POSTs an NDJSON upload to /run. */
  upload: (body: string | Buffer, headers?: Record<string, string>) => Promise<HttpAnswer>
  /** Polls /status until the job reaches one of `states`. */
  waitForState: (jobId: string, states?: string[], timeoutMs?: number, headers?: Record<string, string>) => Promise<Record<string, any>>
  spoolFiles: () => Promise<string[]>
}

const ENDED = new Set(['completed', 'failed', 'cancelled'])

export async function startChronos (env: Record<string, string> = {}, redisUrl = sharedRedis().url, overrides: DepsOverrides = {}): Promise<Chronos> {
  const prefix = env.CHRONOS_KEY_PREFIX ?? uniquePrefix()
  const spoolDir = env.CHRONOS_SPOOL_DIR ?? await mkdtemp(join(tmpdir(), 'chronos-spool-'))
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    REDIS_URL: redisUrl,
    CHRONOS_KEY_PREFIX: prefix,
    CHRONOS_SPOOL_DIR: spoolDir,
    CHRONOS_FLUSH_INTERVAL_MS: '20',
    CHRONOS_SHUTDOWN_GRACE_MS: '5000',
    LOG_LEVEL: 'debug',
    ...env
  })
  const logs: Array<Record<string, unknown>> = []
  const sink = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line))
      callback()
    }
  })
  const service = await startService(config, createLogger(config.log, sink), overrides)
  const { clusterNodes } = config.redis
  const redis = clusterNodes.length === 0
    ? new Redis(redisUrl, { maxRetriesPerRequest: 1 })
    : new Cluster(clusterNodes.map((node) => ({ ...node })), { redisOptions: { maxRetriesPerRequest: 1 } })
  // Some specs make Redis unreachable on purpose; an unhandled 'error' event would only print noise.
  redis.on('error', () => {})
  const url = service.url

  // Every answer is checked against the OpenAPI document (issue 14): a status, content type
  // or body the document does not describe fails the spec that received it.
  const request = async (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}): Promise<HttpAnswer> => {
    const answer = await httpRequest(`${url}${path}`, { method, body, headers })
    checkAnswer(method, `${url}${path}`, { ...answer, contentType: answer.headers.get('content-type') })
    return answer
  }

  const chronos: Chronos = {
    url,
    service,
    config,
    prefix,
    spoolDir,
    logs,
    redis,
    stop: async () => await service.stop(),
    cleanup: async () => {
      await service.stop()
      const servers = redis instanceof Cluster ? redis.nodes('master').map((node) => `redis://${node.options.host}:${node.options.port}`) : [redisUrl]
      for (const server of servers) await deleteKeysWithPrefix(server, prefix).catch(() => 0)
      redis.disconnect()
      await rm(spoolDir, { recursive: true, force: true })
    },
    post: async (path, body, headers) => await request('POST', path, body, headers),
    get: async (path, headers) => await request('GET', path, undefined, headers),
    del: async (path, headers) => await request('DELETE', path, undefined, headers),
    upload: async (body, headers = {}) => await request('POST', '/run', body, { 'content-type': 'application/x-ndjson', ...headers }),
    waitForState: async (jobId, states = ['completed', 'failed', 'cancelled'], timeoutMs = 15_000, headers = {}) => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const answer = await request('GET', `/status?key=${encodeURIComponent(jobId)}`, undefined, headers)
        if (answer.status === 200 && states.includes(answer.json.state)) {
          // An ended job's state is written before its files and indexes are cleaned up:
          // wait for the runner to finish with it, so the next check sees the job fully gone.
          if (ENDED.has(answer.json.state)) await service.deps.runner.whenSettled(answer.json.job_id)
          return answer.json
        }
        if (Date.now() > deadline) throw new Error(`job ${jobId} did not reach ${states.join('|')}: ${answer.text}`)
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
    },
    spoolFiles: async () => await readdir(spoolDir)
  }
  return chronos
}

/** An error answer: this status and `error.code` (the body in the message when it is not). */
export function expectError (answer: HttpAnswer, status: number, code: string): void {
  expect(answer.status, answer.text).to.equal(status)
  expect(answer.json?.error?.code, answer.text).to.equal(code)
}

/** One line of GET /jobs/:id/results. */
export interface ResultLine {
  id: string | number
  ok: boolean
  status: number | null
  attempts: number
  time_ms: number
  error: string | null
  response?: string
  /** The cause of a tls_error. */
  detail?: string
}

/** GET /jobs/:id/results (`query` appended as is): expects 200 and parses the NDJSON lines. */
export async function resultsPage (chronos: Chronos, jobId: string, query = '', headers: Record<string, string> = {}): Promise<{ lines: ResultLine[], answer: HttpAnswer }> {
  const answer = await chronos.get(`/jobs/${jobId}/results${query}`, headers)
  expect(answer.status, answer.text).to.equal(200)
  const lines = answer.text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as ResultLine)
  return { lines, answer }
}

/** The lines of resultsPage(), for specs that need nothing else from the answer. */
export async function results (chronos: Chronos, jobId: string, query = '', headers: Record<string, string> = {}): Promise<ResultLine[]> {
  return (await resultsPage(chronos, jobId, query, headers)).lines
}

/** What a rejected upload must not add to: Redis keys under the prefix, spool files, target requests. */
export interface Leftovers { keys: string[], spool: string[], requests: number[] }

/** Every key under the test's prefix, sorted: on a cluster, from every master. */
export async function prefixKeys (chronos: Chronos): Promise<string[]> {
  await chronos.redis.ping() // a cluster client knows its masters once connected
  const servers = chronos.redis instanceof Cluster ? chronos.redis.nodes('master') : [chronos.redis]
  const perServer = await Promise.all(servers.map(async (server) => await server.keys(`${chronos.prefix}:*`)))
  return perServer.flat().sort()
}

export async function leftovers (chronos: Chronos, ...targets: Target[]): Promise<Leftovers> {
  return {
    keys: await prefixKeys(chronos),
    spool: (await chronos.spoolFiles()).sort(),
    requests: targets.map((target) => target.requests.length)
  }
}

/** Nothing at all under the test's prefix, no spool file, no request at the targets. */
export async function expectNothingLeft (chronos: Chronos, ...targets: Target[]): Promise<void> {
  expect(await leftovers(chronos, ...targets)).to.deep.equal({ keys: [], spool: [], requests: targets.map(() => 0) })
}

/** Runs `reject` (a rejected upload) and checks it added no key, spool file or request. */
export async function expectNothingAdded (chronos: Chronos, targets: Target[], reject: () => Promise<void>): Promise<void> {
  const before = await leftovers(chronos, ...targets)
  await reject()
  expect(await leftovers(chronos, ...targets)).to.deep.equal(before)
}

/**
 * Mocha hooks for the calling describe block: a fresh loopback target and an in-process
 * Chronos for every test, both handed to `use`, then cleaned up (keys, spool dir) after it.
 */
export function useChronosAndTarget (use: (chronos: Chronos, target: Target) => void): void {
  let chronos: Chronos | undefined
  let target: Target | undefined
  beforeEach(async function () {
    target = await startTarget()
    chronos = await startChronos()
    use(chronos, target)
  })
  afterEach(async function () {
    await chronos?.cleanup()
    await target?.close()
  })
}

export interface Starters {
  /** startChronos(env), cleaned up after the test. */
  chronos: (env?: Record<string, string>) => Promise<Chronos>
  /** startTarget(script), closed after the test. */
  target: (script?: TargetScript) => Promise<Target>
}

/**
 * Mocha hooks for the calling describe block: whatever a test starts through the returned
 * starters (each its own env or script) is cleaned up after it, in reverse order.
 */
export function useStarters (): Starters {
  let started: Array<() => Promise<void>> = []
  afterEach(async function () {
    const stops = started.reverse()
    started = []
    for (const stop of stops) await stop()
  })
  return {
    chronos: async (env) => {
      const chronos = await startChronos(env)
      started.push(async () => await chronos.cleanup())
      return chronos
    },
    target: async (script) => {
      const target = await startTarget(script)
      started.push(async () => await target.close())
      return target
    }
  }
}
