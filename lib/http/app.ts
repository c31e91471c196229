/**
 * createApp(deps): Koa with its middleware in order. It never listens (Koa's callback/listen
 * split), so tests can mount app.callback() on their own server.
 * Order: request id → access log → error shape → auth → routes, so even a 401 is logged
 * and shaped, and auth runs before any upload byte is read.
 */
import Koa from 'koa'
import type { HttpDeps as Deps } from './http-deps.js'
import type { AppState } from './app-state.js'
import { requestContext } from './middleware/request-context.js'
import { accessLog } from './middleware/access-log.js'
import { errorResponse } from './middleware/error-response.js'
import { auth } from './middleware/auth.js'
import { createRouter } from './routes.js'

export function createApp (deps: Deps): Koa<AppState> {
  const app = new Koa<AppState>()
  // Errors are answered and logged by errorResponse; Koa's default handler would log again.
  app.silent = true
  const router = createRouter(deps)
  app.use(requestContext(deps.log))
  app.use(accessLog())
  app.use(errorResponse())
  app.use(auth(deps.config.http.apiKeys))
  app.use(router.routes())
  app.use(router.allowedMethods())
  return app
}
