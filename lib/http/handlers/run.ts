/**
 * POST /run: spool and register the upload, answer 202 with the job's id and status URL;
 * with ?dry_run=true, validate it and probe the target, answer 200 with the report.
 */
import type { Middleware, ParameterizedContext } from 'koa'
import type { HttpDeps as Deps } from '../http-deps.js'
import type { AppState } from '../app-state.js'
import { acceptUpload, checkLineOne, type AcceptedJob } from '../../upload/accept-upload.js'
import { dryRunUpload, type DryRunReport } from '../../upload/dry-run.js'
import { callbackTarget, type JobSpec } from '../../domain/job-spec.js'
import { parseRunQuery } from '../run-query.js'

export function runHandler (deps: Deps): Middleware<AppState> {
  const acceptDeps = {
    upload: deps.config.upload,
    delivery: deps.config.delivery,
    instanceId: deps.config.jobs.instanceId,
    redis: deps.redis,
    jobStore: deps.jobRegistry,
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
    if (isDryRun) {
      const report = await dryRunUpload({ body: ctx.req, headers: ctx.req.headers }, {
        upload: deps.config.upload,
        delivery: deps.config.delivery,
        policy: deps.targetPolicy,
        tlsContexts: deps.tlsContexts,
        onSpec: async (spec) => await checkLineOne(spec, ctx.state.owner, acceptDeps),
        isAcceptingUploads: acceptDeps.isAcceptingUploads
      })
      respondDryRun(ctx, report)
      return
    }
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

/** 200 with the dry run's report (DESIGN §8): nothing was spooled, registered or sent. */
function respondDryRun (ctx: ParameterizedContext<AppState>, report: DryRunReport): void {
  const { target } = report
  ctx.state.log.info({ records: report.records, reachable: target.reachable, probeError: target.error }, 'dry run checked')
  ctx.status = 200
  ctx.body = {
    dry_run: true,
    primarykey: report.primaryKey,
    records: report.records,
    target: { url: target.url, addresses: target.addresses, reachable: target.reachable, connect_ms: target.connectMs, error: target.error }
  }
}
