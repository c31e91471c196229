/**
 * GET /jobs/:id/failed-records: the failed records of a finished job as a file the user can
 * fix and upload again. It is the `<job>.failed.ndjson` kept at the job's end for
 * retry-failed (spool/extract-failed.ts): line 1 the job's config in wire form, then each
 * failed record as uploaded, so the answer is itself a valid upload. Streamed from disk,
 * never read whole.
 */
import { open, type FileHandle } from 'node:fs/promises'
import type { Middleware, ParameterizedContext } from 'koa'
import type { HttpDeps as Deps } from '../http-deps.js'
import type { AppState } from '../app-state.js'
import { InvalidStateError, NotFoundError } from '../../errors.js'
import { failedFilePath } from '../../spool/extract-failed.js'
import { lookupJobStatus } from './job-lookup.js'

export function failedRecordsHandler (deps: Pick<Deps, 'jobStore' | 'config'>): Middleware<AppState> {
  return async function failedRecords (ctx: ParameterizedContext<AppState> & { params?: Record<string, string> }) {
    const job = await lookupJobStatus(deps, ctx.params?.id ?? '', ctx.state.owner)
    ctx.state.jobId = job.job_id
    // The same rule as retry-failed: the file is written before the job's final state.
    if (job.state !== 'completed' && job.state !== 'cancelled') {
      throw new InvalidStateError(`only a finished job's failed records can be read; this job is ${job.state}`)
    }
    if (job.failed === 0) throw new InvalidStateError('this job has no failed records')
    // Opened, not stat-ed then opened: a sweep between the two cannot turn a 200 into a 500.
    let file: FileHandle
    try {
      file = await open(failedFilePath(deps.config.upload.spoolDir, job.job_id), 'r')
    } catch (err) {
      if ((err as { code?: unknown }).code === 'ENOENT') throw new NotFoundError('the failed records of this job are no longer kept')
      throw err
    }
    ctx.type = 'application/x-ndjson'
    ctx.set('content-disposition', `attachment; filename="${job.job_id}.failed.ndjson"`)
    ctx.body = file.createReadStream()
  }
}
