/** POST /jobs/:id/retry-failed: 202 with a new job that sends the failed records again. */
import type { Middleware, ParameterizedContext } from 'koa'
import type { HttpDeps as Deps } from '../http-deps.js'
import type { AppState } from '../app-state.js'
import { NotFoundError } from '../../errors.js'
import { retryFailed } from '../../runner/retry-failed.js'
import { lookupJobStatus } from './job-lookup.js'
import { respondAccepted } from './run.js'

export function retryFailedHandler (deps: Deps): Middleware<AppState> {
  const retryDeps = {
    spoolDir: deps.config.upload.spoolDir,
    instanceId: deps.config.jobs.instanceId,
    jobStore: deps.jobRegistry,
    redis: deps.redis,
    log: deps.log,
    enqueue: (jobId: string) => deps.runner.enqueue(jobId)
  }
  return async function retryFailedJob (ctx: ParameterizedContext<AppState> & { params?: Record<string, string> }) {
    const parent = await lookupJobStatus(deps, ctx.params?.id ?? '', ctx.state.owner)
    const snapshot = await deps.jobStore.get(parent.job_id)
    const specJson = snapshot?.meta.specJson
    if (specJson === undefined) throw new NotFoundError(`no job found for key ${JSON.stringify(parent.job_id)}`)
    const job = await retryFailed(parent, specJson, ctx.state.owner, retryDeps)
    respondAccepted(ctx, job, { parent_job_id: parent.job_id })
  }
}
