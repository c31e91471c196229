/**
 * Finds a job for a request: by job id or primarykey, visible only to the API key that
 * created it (any other key gets the same 404 as an unknown job).
 */
import type { HttpDeps as Deps } from '../http-deps.js'
import { NotFoundError } from '../../errors.js'
import { toJobStatus, type JobStatus } from '../../domain/job-status.js'

export async function lookupJobStatus (deps: Pick<Deps, 'jobStore'>, key: string, owner: string): Promise<JobStatus> {
  const jobId = await deps.jobStore.resolve(key, owner)
  const job = jobId === null ? null : await deps.jobStore.get(jobId)
  if (job === null || (job.meta.owner ?? '') !== owner) throw new NotFoundError(`no job found for key ${JSON.stringify(key)}`)
  return toJobStatus(job)
}
