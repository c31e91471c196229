/** The route table: method + path → handler, nothing else. */
import Router from '@koa/router'
import type { HttpDeps as Deps } from './http-deps.js'
import type { AppState } from './app-state.js'
import { runHandler } from './handlers/run.js'
import { statusHandler, jobHandler } from './handlers/status.js'
import { jobsHandler } from './handlers/jobs.js'
import { infoHandler } from './handlers/info.js'
import { cancelHandler, pauseHandler, resumeHandler } from './handlers/job-actions.js'
import { resultsHandler } from './handlers/job-results.js'
import { eventsHandler } from './handlers/job-events.js'
import { retryFailedHandler } from './handlers/retry-failed.js'
import { failedRecordsHandler } from './handlers/failed-records.js'
import { metricsHandler } from './handlers/metrics.js'
import { healthHandler, readyHandler } from './handlers/health.js'
import { openapiHandler } from './handlers/openapi.js'
import { uiHandlers } from './handlers/ui.js'

export function createRouter (deps: Deps): Router<AppState> {
  const router = new Router<AppState>()
  router.post('/run', runHandler(deps))
  router.get('/status', statusHandler(deps))
  router.get('/info', infoHandler(deps))
  router.get('/jobs', jobsHandler(deps))
  router.get('/jobs/:id', jobHandler(deps))
  router.delete('/jobs/:id', cancelHandler(deps))
  router.post('/jobs/:id/pause', pauseHandler(deps))
  router.post('/jobs/:id/resume', resumeHandler(deps))
  router.get('/jobs/:id/results', resultsHandler(deps))
  router.get('/jobs/:id/events', eventsHandler(deps))
  router.get('/jobs/:id/failed-records', failedRecordsHandler(deps))
  router.post('/jobs/:id/retry-failed', retryFailedHandler(deps))
  router.get('/healthz', healthHandler())
  router.get('/readyz', readyHandler(deps))
  router.get('/metrics', metricsHandler(deps))
  router.get('/openapi.json', openapiHandler())
  const ui = uiHandlers()
  router.get('/ui', ui.index) // also serves /ui/ (the router ignores a trailing slash)
  router.get('/ui/:file', ui.asset)
  return router
}
