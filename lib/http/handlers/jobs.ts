/** GET /jobs?limit=&offset=: recent jobs, newest first, visible to the caller's key. */
import type { Middleware } from 'koa'
import type { HttpDeps as Deps } from '../http-deps.js'
import type { AppState } from '../app-state.js'
import { toJobStatus } from '../../domain/job-status.js'
import { withStore } from '../../store/redis.js'
import { queryInteger } from '../query-integer.js'

const MAX_LIMIT = 100

export function jobsHandler (deps: Deps): Middleware<AppState> {
  return async function jobs (ctx) {
    const limit = queryInteger(ctx.query.limit, 20, 1, MAX_LIMIT, 'limit')
    const offset = queryInteger(ctx.query.offset, 0, 0, Number.MAX_SAFE_INTEGER, 'offset')
    const [snapshots, total] = await withStore(deps.redis, async () =>
      await Promise.all([deps.jobStore.listRecent(offset, limit), deps.jobStore.countJobs()]))
    const visible = snapshots.filter((job) => (job.meta.owner ?? '') === ctx.state.owner).map((job) => toJobStatus(job))
    const next = offset + limit < total ? offset + limit : null
    ctx.body = { jobs: visible, next_offset: next }
  }
}
