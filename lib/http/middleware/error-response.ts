/**
 * Any error → `{"error":{"code","message","details"}}` with its status. ChronosErrors are
 * exposed as they are (logged at info); anything else is `internal`, 500, logged once at
 * error with its stack, and its message is not shown to the client. The router's own
 * answers (404 no route; 405 and 501 from allowedMethods(), which sets Allow but no body)
 * get the same shape, so no error goes out as text/plain (issue 18 item 12).
 * A client that went away mid-request is no failure of ours: one info line, no stack.
 */
import type { Middleware, ParameterizedContext } from 'koa'
import { ClientAbortedError, errorCode, isChronosError, JobConflictError } from '../../errors.js'
import type { AppState } from '../app-state.js'

/** Answers the router leaves without a body, and their wire codes. */
const ROUTER_ANSWERS: Partial<Record<number, string>> = { 404: 'not_found', 405: 'method_not_allowed', 501: 'not_implemented' }
const ROUTER_MESSAGES: Record<string, string> = {
  not_found: 'no route for',
  method_not_allowed: 'method not allowed:',
  not_implemented: 'method not implemented:'
}
/**
 * What reading an unfinished request body fails with when its client resets or is cut off
 * by the idle timeout (Node destroys the request with ECONNRESET "aborted"; pipeline() may
 * report the premature close of a stage first).
 */
const ABORT_CODES = new Set(['ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ERR_STREAM_PREMATURE_CLOSE'])

export function errorResponse (): Middleware<AppState> {
  return async function errorResponseMiddleware (ctx, next) {
    try {
      await next()
      const code = ROUTER_ANSWERS[ctx.status]
      if (code !== undefined && ctx.body == null) {
        const status = ctx.status
        ctx.body = { error: { code, message: `${ROUTER_MESSAGES[code]} ${ctx.method} ${ctx.path}`, details: [] } }
        // Setting a body makes Koa assume 200 unless the status was set explicitly.
        ctx.status = status
      }
    } catch (caught) {
      const err = asClientAbort(ctx, caught) ?? caught
      if (isChronosError(err)) {
        if (err.code === 'client_aborted') {
          ctx.state.log.info({ code: err.code, status: err.status, nodeCode: errorCode(err.cause) }, 'client went away')
        } else {
          ctx.state.log.info({ code: err.code, status: err.status }, 'request rejected')
        }
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

/** A ClientAbortedError when `err` is the request body dying with its connection, else null. */
function asClientAbort (ctx: ParameterizedContext<AppState>, err: unknown): ClientAbortedError | null {
  if (isChronosError(err) || ctx.req.complete || !ABORT_CODES.has(errorCode(err) ?? '')) return null
  if (!ctx.req.destroyed && !ctx.req.socket.destroyed) return null
  return new ClientAbortedError('the client went away before the request ended', { cause: err })
}
