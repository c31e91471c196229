/** GET /metrics: Prometheus text exposition (open, like /healthz, for scrapers). */
import type { Middleware } from 'koa'
import type { HttpDeps as Deps } from '../http-deps.js'
import type { AppState } from '../app-state.js'

export function metricsHandler (deps: Pick<Deps, 'metrics'>): Middleware<AppState> {
  return async function metrics (ctx) {
    ctx.type = deps.metrics.registry.contentType
    ctx.body = await deps.metrics.registry.metrics()
  }
}
