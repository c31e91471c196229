/** One structured line per request: method, route, status, durationMs, jobId. */
import type { Middleware } from 'koa'
import type { AppState } from '../app-state.js'

export function accessLog (): Middleware<AppState> {
  return async function accessLogMiddleware (ctx, next) {
    const startMs = performance.now()
    try {
      await next()
    } finally {
      const fields = {
        method: ctx.method,
        path: ctx.path,
        status: ctx.status,
        durationMs: Math.round((performance.now() - startMs) * 100) / 100,
        jobId: ctx.state.jobId
      }
      ctx.state.log.info(fields, 'request completed')
    }
  }
}
