/** Start-up checks of how Redis is configured, where a wrong setting silently loses data. */
import type { Redis } from './redis.js'
import type { Logger } from '../logger.js'

/** An evicting Redis can drop a running job's keys: counts would then be wrong. */
export async function warnAboutRedisPolicy (redis: Redis, log: Logger): Promise<void> {
  try {
    const reply = await redis.config('GET', 'maxmemory-policy') as string[]
    const policy = reply[1]
    if (policy !== undefined && policy !== 'noeviction') {
      log.warn({ policy }, 'redis maxmemory-policy is not noeviction: job state may be evicted and jobs fail with state_lost')
    }
  } catch (err) {
    log.debug({ err }, 'could not read redis maxmemory-policy')
  }
}
