/**
 * Gives every request an id (a sane incoming `x-request-id`, else a new one), echoes it,
 * and hangs a child logger carrying it on ctx.state.log.
 */
import { randomUUID } from 'node:crypto'
import type { Middleware } from 'koa'
import type { Logger } from '../../logger.js'
import type { AppState } from '../app-state.js'

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

export function requestContext (log: Logger): Middleware<AppState> {
  return async function requestContextMiddleware (ctx, next) {
    const incoming = ctx.get('x-request-id')
    const reqId = SANE_REQUEST_ID.test(incoming) ? incoming : randomUUID()
    ctx.state.reqId = reqId
    ctx.state.log = log.child({ reqId })
    ctx.set('x-request-id', reqId)
    await next()
  }
}
