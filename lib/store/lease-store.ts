/**
 * Who runs a job (docs/scale-out.md): its lease, the fencing token that comes with it, the
 * queue of jobs waiting for an instance, the lease list the takeover sweep reads, and the
 * `control` field through which any instance asks the holder to cancel or pause, and the
 * holder's fenced writes of what it sees of the target.
 *
 * The lease key and the job's meta hash share the job's slot, so each script below is one
 * atomic step on Redis Cluster too. The queue and the lease list are single keys in slots
 * of their own, written in separate commands and only ever read as hints: whoever takes a
 * job from them checks the lease itself (acquire), so a stale entry costs one wasted call.
 */
import { readFileSync } from 'node:fs'
import type { Redis } from './redis.js'
import type { Keys } from './keys.js'
import type { CircuitState } from '../domain/job-meta.js'

/** Longer than any recovery takes (a few Redis calls and a file read). */
const RECOVERY_LOCK_MS = 60_000

const script = (name: string): string => readFileSync(new URL(`./lua/${name}.lua`, import.meta.url), 'utf8')

interface LeaseCommands {
  acquireLease: (meta: string, lease: string, instanceId: string, leaseMs: number) => Promise<number>
  renewLease: (meta: string, lease: string, instanceId: string, fence: string, leaseMs: number) => Promise<string | null>
  releaseLease: (lease: string, holder: string) => Promise<number>
  writeSignals: (meta: string, fence: string, concurrencyLimit: number, circuit: CircuitState) => Promise<number>
}

/** A lease this instance holds. */
export interface Lease {
  readonly jobId: string
  readonly instanceId: string
  readonly fence: number
}

/** What another instance may ask of a job's holder. */
export type ControlRequest = 'cancel' | 'pause'

export class LeaseStore {
  readonly #redis: Redis & LeaseCommands
  readonly #keys: Keys
  readonly leaseMs: number

  constructor (redis: Redis, keys: Keys, leaseMs: number) {
    if (!('acquireLease' in redis)) {
      redis.defineCommand('acquireLease', { numberOfKeys: 2, lua: script('acquire-lease') })
      redis.defineCommand('renewLease', { numberOfKeys: 2, lua: script('renew-lease') })
      redis.defineCommand('releaseLease', { numberOfKeys: 1, lua: script('release-lease') })
      redis.defineCommand('writeSignals', { numberOfKeys: 1, lua: script('write-signals') })
    }
    this.#redis = redis as Redis & LeaseCommands
    this.#keys = keys
    this.leaseMs = leaseMs
  }

  /**
   * Takes the job's lease when nobody holds it: the lease, or 'held', or 'gone' (no such
   * job any more; its stale queue and lease-list entries are dropped).
   */
  async acquire (jobId: string, instanceId: string): Promise<Lease | 'held' | 'gone'> {
    const k = this.#keys
    const fence = await this.#redis.acquireLease(k.meta(jobId), k.lease(jobId), instanceId, this.leaseMs)
    if (fence === 0) return 'held'
    if (fence < 0) {
      await this.#forget(jobId)
      return 'gone'
    }
    // Listed before it leaves the queue: a crash in between leaves it in both, never in neither.
    await this.#redis.zadd(k.leases(), Date.now() + this.leaseMs, jobId)
    await this.#redis.zrem(k.queue(), jobId)
    return { jobId, instanceId, fence }
  }

  /**
   * Extends a lease the holder still holds. Resolves to the job's control request ('' when
   * none), or null when the lease is no longer the holder's (expired, released, or taken).
   */
  async renew (lease: Lease): Promise<ControlRequest | '' | null> {
    const k = this.#keys
    const control = await this.#redis.renewLease(k.meta(lease.jobId), k.lease(lease.jobId), lease.instanceId, String(lease.fence), this.leaseMs)
    if (control === null) return null
    // XX: only moves an entry that is there. A renewal racing the job's end must not add
    // back the entry finish() just removed (a stale entry costs every instance a wasted
    // acquire); an entry that is missing is found by the spool sweep instead.
    await this.#redis.zadd(k.leases(), 'XX', Date.now() + this.leaseMs, lease.jobId)
    return control === 'cancel' || control === 'pause' ? control : ''
  }

  /**
   * Holds a job that Redis forgot while one instance registers it again from its receipt
   * (job-recovery.ts): the lease key under token 0, which no real lease ever has. Null when
   * another instance holds it.
   */
  async lockForRecovery (jobId: string, instanceId: string): Promise<Lease | null> {
    const lock = { jobId, instanceId, fence: 0 }
    const set = await this.#redis.set(this.#keys.lease(jobId), holderOf(lock), 'PX', RECOVERY_LOCK_MS, 'NX')
    return set === null ? null : lock
  }

  /** Gives the lease up (if still held) and drops the job from the lease list. */
  async release (lease: Lease): Promise<void> {
    await this.#redis.releaseLease(this.#keys.lease(lease.jobId), holderOf(lease))
    await this.#redis.zrem(this.#keys.leases(), lease.jobId)
  }

  /** Puts the job in the queue (again), where the oldest submission is taken first. */
  async enqueue (jobId: string, submittedAtMs: number): Promise<void> {
    await this.#redis.zadd(this.#keys.queue(), submittedAtMs, jobId)
  }

  /** Shutdown: queued for any instance first, then the lease given up, so it is never in neither. */
  async handOver (lease: Lease, submittedAtMs: number): Promise<void> {
    await this.enqueue(lease.jobId, submittedAtMs)
    await this.release(lease)
  }

  /** Drops the job from the queue (paused or cancelled before it started). */
  async dequeue (jobId: string): Promise<void> {
    await this.#redis.zrem(this.#keys.queue(), jobId)
  }

  /** The oldest queued job ids. */
  async queued (limit: number): Promise<string[]> {
    return await this.#redis.zrange(this.#keys.queue(), 0, limit - 1)
  }

  async queueLength (): Promise<number> {
    return await this.#redis.zcard(this.#keys.queue())
  }

  /** Jobs whose lease-list entry says their lease has ended: takeover candidates. */
  async expired (limit: number, nowMs: number = Date.now()): Promise<string[]> {
    return await this.#redis.zrangebyscore(this.#keys.leases(), '-inf', nowMs, 'LIMIT', 0, limit)
  }

  /** The job's current holder and when its lease ends, or null when nobody holds it. */
  async holder (jobId: string): Promise<{ instanceId: string, expiresAtMs: number } | null> {
    const lease = this.#keys.lease(jobId)
    const [held, ttl] = await Promise.all([this.#redis.get(lease), this.#redis.pttl(lease)])
    if (held === null || ttl < 0) return null
    return { instanceId: held.slice(0, held.lastIndexOf(' ')), expiresAtMs: Date.now() + ttl }
  }

  /**
   * What the holder sees of its target (DESIGN §8): the live concurrency limit and the
   * circuit, written only under the job's newest lease. False when the lease is not.
   */
  async writeSignals (lease: Lease, signals: { readonly concurrencyLimit: number, readonly circuit: CircuitState }): Promise<boolean> {
    const written = await this.#redis.writeSignals(this.#keys.meta(lease.jobId), String(lease.fence), signals.concurrencyLimit, signals.circuit)
    return written === 1
  }

  /** Asks the job's holder to cancel or pause it; null clears the request. */
  async setControl (jobId: string, request: ControlRequest | null): Promise<void> {
    const meta = this.#keys.meta(jobId)
    if (request === null) await this.#redis.hdel(meta, 'control')
    else await this.#redis.hset(meta, 'control', request)
  }

  async #forget (jobId: string): Promise<void> {
    await this.#redis.zrem(this.#keys.queue(), jobId)
    await this.#redis.zrem(this.#keys.leases(), jobId)
  }
}

function holderOf (lease: Lease): string {
  return `${lease.instanceId} ${lease.fence}`
}
