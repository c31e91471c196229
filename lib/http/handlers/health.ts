/** GET /healthz (the process answers) and GET /readyz (Redis answers, spool dir writable). */
import { access, constants } from 'node:fs/promises'
import type { Middleware } from 'koa'
import type { Deps } from '../../deps.js'
import type { AppState } from '../app-state.js'
import { isReady, withStore } from '../../store/redis.js'

export function healthHandler (): Middleware<AppState> {
  return async function healthz (ctx) {
    ctx.body = { status: 'ok' }
  }
}

export function readyHandler (deps: Deps): Middleware<AppState> {
  return async function readyz (ctx) {
    const redis = isReady(deps.redis) && await withStore(deps.redis, async () => await deps.redis.ping()).then(() => true, () => false)
    const spool = await access(deps.config.upload.spoolDir, constants.W_OK).then(() => true, () => false)
    const ready = redis && spool && deps.isAcceptingUploads
    ctx.status = ready ? 200 : 503
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks: { redis, spool, accepting_uploads: deps.isAcceptingUploads } }
  }
}
