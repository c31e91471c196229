/**
 * ioredis factory and the availability guard used on request paths.
 *
 * The connection never gives up (maxRetriesPerRequest: null, offline queue on): a Redis
 * outage must pause progress writes, not crash the process or drop an outcome (DESIGN §4).
 * Request handlers, which must answer 503 within about 2 s instead of hanging, go through
 * withStore(), which refuses at once when the connection is not ready and bounds the wait.
 *
 * With CHRONOS_REDIS_CLUSTER_NODES the client is an ioredis Cluster instead of one
 * connection. Both speak the same commands; every key of a job carries its hash tag and no
 * MULTI or script spans two slots (docs/scale-out.md, Redis Cluster), so the stores never ask
 * which one they were given. Only what talks to servers rather than keys looks at the
 * difference: the probe (slotMasters) and the start-up checks (serversOf).
 */
import { Cluster, Redis as Server } from 'ioredis'
import type { RedisConfig } from '../config.js'
import { StoreUnavailableError } from '../errors.js'

/**
 * A Redis client: one server, or a Redis Cluster. Everything that takes a client takes this
 * type, so a command the cluster client lacks fails the typecheck rather than a deploy.
 */
export type Redis = Server | Cluster

/** How long a request path waits for Redis before answering 503. */
export const STORE_TIMEOUT_MS = 2000
/** How long a reachability probe (/info, /readyz) waits for PONG. */
export const PROBE_TIMEOUT_MS = 500

const CLUSTER_SLOTS = 16384

const retryStrategy = (attempt: number): number => Math.min(50 * attempt, 1000)

export function createRedis (config: RedisConfig, connectionName: string): Redis {
  const connection = { connectionName, maxRetriesPerRequest: null, connectTimeout: STORE_TIMEOUT_MS }
  if (config.clusterNodes.length === 0) {
    return new Server(config.url, { ...connection, enableOfflineQueue: true, retryStrategy, lazyConnect: false })
  }
  return new Cluster(config.clusterNodes.map((node) => ({ ...node })), {
    redisOptions: connection,
    enableOfflineQueue: true,
    // 'ready' only once CLUSTER INFO says the cluster serves every slot.
    enableReadyCheck: true,
    // Reads go to masters: a replica may lag, and counts read just after a write must be exact.
    scaleReads: 'master',
    clusterRetryStrategy: retryStrategy,
    lazyConnect: false
  })
}

/** A second connection of the same kind and to the same place (a pub/sub subscriber, say). */
export function duplicateRedis (redis: Redis, connectionName: string): Redis {
  if (redis instanceof Cluster) {
    return redis.duplicate([], { redisOptions: { ...redis.options.redisOptions, connectionName } })
  }
  return redis.duplicate({ connectionName })
}

/** The servers behind a client: itself, or a cluster's masters as the client knows them now. */
export function serversOf (redis: Redis): Server[] {
  return redis instanceof Cluster ? redis.nodes('master') : [redis]
}

/**
 * The servers that must answer for every key to be reachable: the server, or the master of
 * each of a cluster's 16384 slots, as the client maps them. A master whose connection the
 * cluster client dropped is `undefined`: its slots are served by no one it can reach.
 */
function slotMasters (redis: Redis): Array<Server | undefined> {
  if (!(redis instanceof Cluster)) return [redis]
  const connected = new Map(redis.nodes('all').map((server) => [serverAddress(server), server]))
  const owners = new Set<string>()
  for (let slot = 0; slot < CLUSTER_SLOTS; slot++) owners.add(redis.slots[slot]?.[0] ?? '')
  return [...owners].map((owner) => connected.get(owner))
}

/** 'host:port' of one server, for logs (and the form a cluster client keys its nodes by). */
export function serverAddress (server: Server): string {
  return `${server.options.host ?? ''}:${server.options.port ?? ''}`
}

export function isReady (redis: Redis): boolean {
  return redis.status === 'ready'
}

/**
 * Whether Redis answers a PING within `timeoutMs`: the server, or the master of every slot of
 * a cluster (slotMasters). The connection status alone says 'ready' while Redis is
 * frozen (SIGSTOP, a wedged server, a network dropping packets without a reset): only an
 * answer proves it is reachable (issue 18 item 12). Never rejects.
 */
export async function probeRedis (redis: Redis, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  if (!isReady(redis)) return false
  const servers = slotMasters(redis)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs) })
  const pings = servers.map(async (server) => await server?.ping().then((reply) => reply === 'PONG', () => false) ?? false)
  try {
    return await Promise.race([Promise.all(pings).then((answers) => answers.every(Boolean)), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/**
 * Runs a request-path store operation: 503 store_unavailable at once when Redis is not
 * connected, or when the operation takes longer than STORE_TIMEOUT_MS.
 */
export async function withStore<T> (redis: Redis, operation: () => Promise<T>): Promise<T> {
  if (!isReady(redis)) throw new StoreUnavailableError('the job store (Redis) is unreachable')
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError('the job store (Redis) did not answer in time')), STORE_TIMEOUT_MS)
  })
  try {
    return await Promise.race([operation(), timeout])
  } catch (err) {
    if (err instanceof StoreUnavailableError) throw err
    if (!isReady(redis)) throw new StoreUnavailableError('the job store (Redis) is unreachable', { cause: err })
    throw err
  } finally {
    clearTimeout(timer)
  }
}

/**
 * A view of a store (JobStore, OutcomeStore) for request paths: every method answers
 * `503 store_unavailable` at once when Redis is not connected, or when it takes longer than
 * STORE_TIMEOUT_MS (withStore), so callers never wrap a call themselves. Background work
 * (the runner, registration) uses the store itself, which waits for Redis instead.
 */
export function failFast<T extends object> (redis: Redis, store: T): T {
  return new Proxy(store, {
    get (target, property) {
      const value: unknown = Reflect.get(target, property, target)
      if (typeof value !== 'function') return value
      // Called on the store itself, not the proxy: its #private fields live there.
      return async (...args: unknown[]) => await withStore(redis, async () => await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args))
    }
  })
}

/** Resolves true once the connection is ready, false after `timeoutMs`. */
export async function waitUntilReady (redis: Redis, timeoutMs: number): Promise<boolean> {
  if (isReady(redis)) return true
  return await new Promise<boolean>((resolve) => {
    const done = (isOk: boolean): void => {
      clearTimeout(timer)
      redis.off('ready', onReady)
      resolve(isOk)
    }
    const onReady = (): void => done(true)
    const timer = setTimeout(() => done(false), timeoutMs)
    redis.on('ready', onReady)
  })
}

/** Closes gracefully when connected (pending replies arrive), else at once; never hangs. */
export async function quitRedis (redis: Redis, timeoutMs = STORE_TIMEOUT_MS): Promise<void> {
  if (!isReady(redis)) {
    redis.disconnect()
    return
  }
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, timeoutMs) })
  await Promise.race([redis.quit().catch(() => {}), timeout])
  clearTimeout(timer)
  redis.disconnect()
}
