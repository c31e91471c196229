/**
 * POST /jobs/:id/retry-failed: a new job, linked by parent_job_id, that sends only the
 * failed records of a finished job again. Its spool is a durable copy of the file
 * extract-failed.ts kept at the end of the parent job; the parent's JobSpec comes with it.
 */
import { copyFile, open, unlink } from 'node:fs/promises'
import { InvalidStateError, JobConflictError } from '../errors.js'
import type { JobStore } from '../store/job-store.js'
import { withStore, type Redis } from '../store/redis.js'
import type { Logger } from '../logger.js'
import { registerJob } from './register-job.js'
import type { JobStatus } from '../domain/job-status.js'
import { newJobId } from '../domain/job-id.js'
import { failedFilePath } from '../spool/extract-failed.js'
import { spoolPathFor } from '../spool/spool-writer.js'
import type { AcceptedJob } from '../domain/job-id.js'

export interface RetryFailedDeps {
  readonly spoolDir: string
  readonly instanceId: string
  readonly jobStore: JobStore
  readonly redis: Redis
  readonly log: Logger
  readonly enqueue: (jobId: string) => Promise<void>
}

export async function retryFailed (parent: JobStatus, specJson: string, owner: string, deps: RetryFailedDeps): Promise<AcceptedJob> {
  if (parent.state !== 'completed' && parent.state !== 'cancelled') {
    throw new InvalidStateError(`only a finished job's failures can be retried; this job is ${parent.state}`)
  }
  if (parent.failed === 0) throw new InvalidStateError('this job has no failed records')
  const holder = await withStore(deps.redis, async () => await deps.jobStore.findLive(owner, parent.primarykey))
  if (holder !== null) throw new JobConflictError(`a job with primarykey "${parent.primarykey}" is still live`, holder)

  const jobId = newJobId()
  const spoolPath = spoolPathFor(deps.spoolDir, jobId)
  try {
    await copyFile(failedFilePath(deps.spoolDir, parent.job_id), spoolPath)
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') throw new InvalidStateError('the failed records of this job are no longer kept')
    throw err
  }
  try {
    const file = await open(spoolPath, 'r+')
    await file.sync().finally(async () => await file.close())
    await registerJob({
      jobId,
      primaryKey: parent.primarykey,
      specJson,
      total: parent.failed,
      spoolPath,
      instanceId: deps.instanceId,
      submittedAt: new Date().toISOString(),
      owner,
      parentJobId: parent.job_id
    }, { redis: deps.redis, jobStore: deps.jobStore, spoolDir: deps.spoolDir, log: deps.log })
  } catch (err) {
    await unlink(spoolPath).catch(() => {})
    throw err
  }
  await deps.enqueue(jobId)
  return { jobId, primaryKey: parent.primarykey, records: parent.failed }
}
