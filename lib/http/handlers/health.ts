/**
 * GET /healthz (the process answers) and GET /readyz: Redis answers a PING within 500 ms
 * (the same probe as /info), the spool directory
 * takes a file (a real write: `access(W_OK)` says yes to root for anything) and has at least
 * CHRONOS_SPOOL_MIN_FREE_BYTES free, and uploads are being taken.
 */
import { randomUUID } from 'node:crypto'
import { statfs, unlink, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Middleware } from 'koa'
import type { HttpDeps as Deps } from '../http-deps.js'
import type { AppState } from '../app-state.js'
import { probeRedis } from '../../store/redis.js'

export function healthHandler (): Middleware<AppState> {
  return async function healthz (ctx) {
    ctx.body = { status: 'ok' }
  }
}

export function readyHandler (deps: Pick<Deps, 'config' | 'redis' | 'isAcceptingUploads'>): Middleware<AppState> {
  const { spoolDir, minFreeBytes } = deps.config.upload
  return async function readyz (ctx) {
    const [redis, spool, freeBytes] = await Promise.all([
      probeRedis(deps.redis),
      isWritable(spoolDir),
      freeSpace(spoolDir)
    ])
    const diskSpace = freeBytes >= minFreeBytes
    const ready = redis && spool && diskSpace && deps.isAcceptingUploads
    ctx.status = ready ? 200 : 503
    ctx.body = {
      status: ready ? 'ready' : 'not_ready',
      checks: { redis, spool, disk_space: diskSpace, accepting_uploads: deps.isAcceptingUploads },
      spool_free_bytes: freeBytes
    }
  }
}

async function isWritable (dir: string): Promise<boolean> {
  const probe = join(dir, `.readyz-${randomUUID()}`)
  try {
    await writeFile(probe, '')
    await unlink(probe)
    return true
  } catch {
    return false
  }
}

async function freeSpace (dir: string): Promise<number> {
  try {
    const stats = await statfs(dir)
    return stats.bavail * stats.bsize
  } catch {
    return 0
  }
}
