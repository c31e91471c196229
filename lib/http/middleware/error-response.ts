/**
 * Any error → `{"error":{"code","message","details"}}` with its status. ChronosErrors are
 * exposed as they are (logged at info); anything else is `internal`, 500, logged once at
 * error with its stack, and its message is not shown to the client.
 */
import type { Middleware } from 'koa'
import { isChronosError, JobConflictError } from '../../errors.js'
import type { AppState } from '../app-state.js'

export function errorResponse (): Middleware<AppState> {
  return async function errorResponseMiddleware (ctx, next) {
    try {
      await next()
      if (ctx.status === 404 && ctx.body === undefined) {
        ctx.status = 404
        ctx.body = { error: { code: 'not_found', message: `no route for ${ctx.method} ${ctx.path}`, details: [] } }
      }
    } catch (err) {
      if (isChronosError(err)) {
        ctx.state.log.info({ code: err.code, status: err.status }, 'request rejected')
        ctx.status = err.status
        const error: Record<string, unknown> = { code: err.code, message: err.message, details: err.details ?? [] }
        if (err instanceof JobConflictError) error.job_id = err.jobId
        ctx.body = { error }
      } else {
        ctx.state.log.error({ err }, 'request failed')
        ctx.status = 500
        ctx.body = { error: { code: 'internal', message: 'internal error', details: [] } }
      }
      // An upload rejected before its end leaves unread bytes on the socket: close it.
      if (!ctx.req.complete) ctx.set('connection', 'close')
    }
  }
}
