/**
 * ioredis factory and the availability guard used on request paths.
 *
 * The connection never gives up (maxRetriesPerRequest: null, offline queue on): a Redis
 * outage must pause progress writes, not crash the process or drop an outcome (DESIGN §4).
 * Request handlers, which must answer 503 within about 2 s instead of hanging, go through
 * withStore(), which refuses at once when the connection is not ready and bounds the wait.
 */
import { Redis } from 'ioredis'
import type { RedisConfig } from '../config.js'
import { StoreUnavailableError } from '../errors.js'

export type { Redis }

/** How long a request path waits for Redis before answering 503. */
export const STORE_TIMEOUT_MS = 2000
/** How long a reachability probe (/info, /readyz) waits for PONG. */
export const PROBE_TIMEOUT_MS = 500

export function createRedis (config: RedisConfig, connectionName: string): Redis {
  return new Redis(config.url, {
    connectionName,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    connectTimeout: STORE_TIMEOUT_MS,
    retryStrategy: (attempt: number) => Math.min(50 * attempt, 1000),
    lazyConnect: false
  })
}

export function isReady (redis: Redis): boolean {
  return redis.status === 'ready'
}

/**
 * Whether Redis answers a PING within `timeoutMs`. The connection status alone says 'ready'
 * while Redis is frozen (SIGSTOP, a wedged server, a network dropping packets without a
 * reset): only an answer proves it is reachable (issue 18 item 12). Never rejects.
 */
export async function probeRedis (redis: Redis, timeoutMs = PROBE_TIMEOUT_MS): Promise<boolean> {
  if (!isReady(redis)) return false
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs) })
  try {
    return await Promise.race([redis.ping().then((reply) => reply === 'PONG', () => false), timeout])
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
