/** Start-up checks of how Redis is configured, where a wrong setting silently loses data. */
import { serverAddress, serversOf, type Redis } from './redis.js'
import type { Logger } from '../logger.js'

/**
 * An evicting Redis can drop a running job's keys: counts would then be wrong. On a cluster
 * each master is asked (CONFIG is per server, and any of them may hold a job's slot).
 * Managed services that refuse CONFIG are only noted at debug level.
 */
export async function warnAboutRedisPolicy (redis: Redis, log: Logger): Promise<void> {
  await Promise.all(serversOf(redis).map(async (server) => {
    const node = serverAddress(server)
    try {
      const reply = await server.config('GET', 'maxmemory-policy') as string[]
      const policy = reply[1]
      if (policy !== undefined && policy !== 'noeviction') {
        log.warn({ policy, node }, 'redis maxmemory-policy is not noeviction: job state may be evicted and jobs fail with state_lost')
      }
    } catch (err) {
      log.debug({ err, node }, 'could not read redis maxmemory-policy')
    }
  }))
}
