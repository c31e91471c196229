/** POST /run: spool and register the upload, answer 202 with the job's id and status URL. */
import type { Middleware, ParameterizedContext } from 'koa'
import type { HttpDeps as Deps } from '../http-deps.js'
import type { AppState } from '../app-state.js'
import { acceptUpload, type AcceptedJob } from '../../upload/accept-upload.js'
import { callbackTarget, type JobSpec } from '../../domain/job-spec.js'
import { InvalidRequestError } from '../../errors.js'
import { parseRunQuery } from '../run-query.js'

export function runHandler (deps: Deps): Middleware<AppState> {
  const acceptDeps = {
    upload: deps.config.upload,
    delivery: deps.config.delivery,
    instanceId: deps.config.jobs.instanceId,
    redis: deps.redis,
    jobStore: deps.jobStore,
    log: deps.log,
    checkTarget: (spec: JobSpec) => {
      deps.targetPolicy.check(spec)
      if (spec.callbackUrl !== null) deps.targetPolicy.check(callbackTarget(spec.callbackUrl))
    },
    enqueue: (jobId: string) => deps.runner.enqueue(jobId),
    isAcceptingUploads: () => deps.isAcceptingUploads,
    onUploadBytes: (bytes: number, isAccepted: boolean) => deps.metrics.recordUpload(bytes, isAccepted)
  }
  return async function run (ctx) {
    const { isDryRun } = parseRunQuery(ctx.querystring)
    if (isDryRun) throw new InvalidRequestError('dry_run=true is not available yet')
    const job = await acceptUpload({ body: ctx.req, headers: ctx.req.headers, owner: ctx.state.owner }, acceptDeps)
    respondAccepted(ctx, job)
  }
}

/** 202 with the job's id, Location and X-Job-ID (DESIGN §1), for /run and retry-failed. */
export function respondAccepted (ctx: ParameterizedContext<AppState>, job: AcceptedJob, extra: Record<string, string> = {}): void {
  ctx.state.jobId = job.jobId
  ctx.state.log.info({ jobId: job.jobId, records: job.records }, 'job accepted')
  const statusUrl = `/status?key=${job.jobId}`
  ctx.status = 202
  ctx.set('x-job-id', job.jobId)
  ctx.set('location', statusUrl)
  ctx.body = {
    message: 'Job accepted',
    job_id: job.jobId,
    primarykey: job.primaryKey,
    records: job.records,
    status_url: statusUrl,
    ...extra
  }
}
