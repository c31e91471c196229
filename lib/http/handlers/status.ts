/** GET /status?key=<job_id | primarykey> and GET /jobs/:id: the status object of DESIGN §3. */
import type { Middleware } from 'koa'
import type { HttpDeps as Deps } from '../http-deps.js'
import type { AppState } from '../app-state.js'
import { InvalidRequestError } from '../../errors.js'
import { lookupJobStatus } from './job-lookup.js'

export function statusHandler (deps: Pick<Deps, 'jobStore'>): Middleware<AppState> {
  return async function status (ctx) {
    const key = ctx.query.key
    if (typeof key !== 'string' || key === '') throw new InvalidRequestError('query parameter "key" (a job_id or primarykey) is required')
    const jobStatus = await lookupJobStatus(deps, key, ctx.state.owner)
    ctx.state.jobId = jobStatus.job_id
    ctx.body = jobStatus
  }
}

export function jobHandler (deps: Pick<Deps, 'jobStore'>): Middleware<AppState> {
  return async function job (ctx) {
    const jobStatus = await lookupJobStatus(deps, (ctx as unknown as { params: { id: string } }).params.id, ctx.state.owner)
    ctx.state.jobId = jobStatus.job_id
    ctx.body = jobStatus
  }
}
