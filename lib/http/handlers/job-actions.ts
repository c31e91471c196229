/**
 * DELETE /jobs/:id (cancel), POST /jobs/:id/pause, POST /jobs/:id/resume, on any instance
 * whichever runs the job (runner/job-control.ts). Each answers 200 with the status object
 * after the change; acting on a finished job is 409 invalid_state.
 */
import type { Middleware, ParameterizedContext } from 'koa'
import type { HttpDeps } from '../http-deps.js'
import type { AppState } from '../app-state.js'
import { InvalidStateError } from '../../errors.js'
import type { JobState } from '../../domain/job-meta.js'
import { lookupJobStatus } from './job-lookup.js'

/** What a job action uses: the fleet's controls, the store that finds the job. */
type Deps = Pick<HttpDeps, 'jobControl' | 'jobStore'>

type JobAction = (deps: Deps, jobId: string, state: JobState) => Promise<void>

const cancel: JobAction = async (deps, jobId, state) => {
  requireState(state, ['queued', 'running', 'paused'], 'cancel')
  await deps.jobControl.cancel(jobId)
}

const pause: JobAction = async (deps, jobId, state) => {
  requireState(state, ['queued', 'running'], 'pause')
  await deps.jobControl.pause(jobId)
}

const resume: JobAction = async (deps, jobId, state) => {
  requireState(state, ['paused'], 'resume')
  await deps.jobControl.resume(jobId)
}

export const cancelHandler = (deps: Deps): Middleware<AppState> => actionHandler(deps, cancel)
export const pauseHandler = (deps: Deps): Middleware<AppState> => actionHandler(deps, pause)
export const resumeHandler = (deps: Deps): Middleware<AppState> => actionHandler(deps, resume)

function actionHandler (deps: Deps, action: JobAction): Middleware<AppState> {
  return async function jobAction (ctx: ParameterizedContext<AppState> & { params?: Record<string, string> }) {
    const key = ctx.params?.id ?? ''
    const before = await lookupJobStatus(deps, key, ctx.state.owner)
    ctx.state.jobId = before.job_id
    await action(deps, before.job_id, before.state)
    ctx.body = await lookupJobStatus(deps, before.job_id, ctx.state.owner)
  }
}

function requireState (state: JobState, allowed: readonly JobState[], verb: string): void {
  if (!allowed.includes(state)) throw new InvalidStateError(`cannot ${verb} a job that is ${state}`)
}
