// The scaffolding the fault specs share, as mocha hooks for the describe block that calls
// useFaultRig():
//   - a loopback target, fresh for every test, answering after `targetDelayMs` so that requests
//     are in flight when the fault hits;
//   - after each test, every Chronos child SIGKILLed and its spool dir removed, then the target
//     closed (whichever one the test left in `rig.target`: a test may swap it);
//   - with `redis`, a Redis of the block's own (so a spec can make it append-only, or restart
//     it, without touching the shared one) and an `admin` client on it, for checking what
//     Chronos stored rather than what it says.
import { Redis } from 'ioredis'
import { cleanUpChronosProcesses } from './chronos-process.js'
import { startRedis, type RedisHandle, type RedisOptions } from './redis.js'
import { startTarget, type Target } from './target.js'

export interface FaultRigOptions {
  readonly targetDelayMs: number
  /** Start a Redis for the block with these options. @defaultValue none: the specs bring their own */
  readonly redis?: RedisOptions
}

export interface FaultRig {
  readonly redis: RedisHandle
  readonly admin: Redis
  target: Target
}

export function useFaultRig (options: FaultRigOptions): FaultRig {
  let redis: RedisHandle | undefined
  let admin: Redis | undefined
  let target: Target | undefined
  const redisOptions = options.redis
  if (redisOptions !== undefined) {
    before(async function () {
      redis = await startRedis(redisOptions)
      admin = new Redis(redis.url, { maxRetriesPerRequest: 3 })
    })

    after(async function () {
      admin?.disconnect()
      await redis?.stop()
    })
  }

  beforeEach(async function () {
    target = await startTarget(() => ({ delayMs: options.targetDelayMs }))
  })

  afterEach(async function () {
    await cleanUpChronosProcesses()
    await target?.close()
  })

  // Read only inside tests and hooks: the fields are set by the hooks above, not at describe time.
  return {
    get redis () { return started(redis, 'redis (pass options.redis)') },
    get admin () { return started(admin, 'admin (pass options.redis)') },
    get target () { return started(target, 'target') },
    set target (next) { target = next }
  }
}

function started<T> (value: T | undefined, what: string): T {
  if (value === undefined) throw new Error(`fault rig: no ${what} yet: read it inside a test or hook`)
  return value
}
