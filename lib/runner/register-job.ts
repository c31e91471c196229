/**
 * The last step before a 202: the job is registered in Redis and its receipt written
 * (job-receipt.ts). Used by POST /run and by retry-failed.
 *
 * Registration is several Redis steps (the job's keys, then the primarykey claim and the
 * indexes, in other slots). When Redis stalls, the caller answers 503 after about 2 s while
 * those steps still wait in the client's queue; they run once Redis answers again. So a
 * given-up registration is stopped before its next step and undone only once it has settled:
 * an undo racing it left the primarykey's `latest` and `live` keys naming a job that did not
 * exist (issue 18 item 4).
 */
import type { Logger } from '../logger.js'
import type { JobStore, NewJob } from '../store/job-store.js'
import { withStore, type Redis } from '../store/redis.js'
import { removeReceipt, writeReceipt } from '../spool/job-receipt.js'
import { wrapFsError } from '../spool/spool-writer.js'

export interface RegisterJobDeps {
  readonly redis: Redis
  readonly jobStore: JobStore
  readonly spoolDir: string
  readonly log: Logger
}

export async function registerJob (job: NewJob, deps: RegisterJobDeps): Promise<void> {
  const giveUp = new AbortController()
  const creating = deps.jobStore.create(job, giveUp.signal)
  try {
    await withStore(deps.redis, async () => await creating)
    await writeReceipt(deps.spoolDir, job).catch((err: unknown) => { throw wrapFsError(err) })
  } catch (err) {
    giveUp.abort()
    await removeReceipt(deps.spoolDir, job.jobId)
    const undo = async (): Promise<void> => await deps.jobStore.discard(job.jobId, job.primaryKey, job.owner)
    creating.then(undo, undo).catch((undoErr: unknown) => deps.log.warn({ err: undoErr, jobId: job.jobId }, 'undoing a refused registration failed'))
    throw err
  }
}
