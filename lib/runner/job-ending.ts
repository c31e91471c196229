/**
 * How a job ends, whichever way: the final state written, failed records kept for
 * retry-failed, spool file and receipt removed, and the completion callback sent in the
 * background (flush() waits for callbacks still under way, at shutdown).
 */
import { unlink } from 'node:fs/promises'
import type { UploadConfig } from '../config.js'
import type { Logger } from '../logger.js'
import type { JobError, JobMeta } from '../domain/job-meta.js'
import type { JobSpec } from '../domain/job-spec.js'
import { toJobStatus } from '../domain/job-status.js'
import type { JobStore } from '../store/job-store.js'
import type { OutcomeStore } from '../store/outcome-store.js'
import { extractFailed } from '../spool/extract-failed.js'
import { removeReceipt } from '../spool/job-receipt.js'
import type { CallbackEvent, SendCallback } from './runner-deps.js'

export interface JobEndingDeps {
  readonly upload: UploadConfig
  readonly jobStore: JobStore
  readonly outcomeStore: OutcomeStore
  /** POSTs the status object to the job's callback_url (never rejects). */
  readonly sendCallback?: SendCallback | undefined
  readonly log: Logger
}

export class JobEnding {
  readonly #deps: JobEndingDeps
  readonly #callbacks = new Set<Promise<unknown>>()

  constructor (deps: JobEndingDeps) {
    this.#deps = deps
  }

  /** Every record has its outcome, or the job was cancelled: the normal ends. */
  async finish (jobId: string, state: 'completed' | 'cancelled', spoolPath: string, spec: JobSpec | null, log: Logger): Promise<void> {
    const { jobStore, outcomeStore, upload } = this.#deps
    const job = await jobStore.get(jobId)
    if ((job?.counts.failed ?? 0) > 0) {
      await extractFailed(spoolPath, upload.spoolDir, jobId, upload.maxLineBytes,
        async (first, bytes) => await outcomeStore.readFailedBits(jobId, first, bytes))
        .catch((err: unknown) => log.error({ err }, 'keeping failed records for retry failed'))
    }
    await jobStore.finish(jobId, state)
    await this.#removeFiles(jobId, spoolPath)
    if (spec !== null) this.notify(jobId, spec, 'final', log)
  }

  /** The job itself broke: it ends `failed` with what it counted so far. */
  async fail (jobId: string, spoolPath: string, error: JobError): Promise<void> {
    await this.#deps.jobStore.finish(jobId, 'failed', error)
    await this.#removeFiles(jobId, spoolPath)
  }

  /** A run's pipeline rejected: the job ends with a code the user can act on, never a stack. */
  async failRun (jobId: string, spoolPath: string, err: unknown, log: Logger): Promise<void> {
    const error = runError(err)
    log.error({ err, code: error.code }, 'job failed')
    await this.fail(jobId, spoolPath, error)
  }

  /** Redis lost the job's progress mid-run: it says so instead of reporting wrong numbers. */
  async stateLost (meta: JobMeta): Promise<void> {
    await this.#deps.jobStore.recordStateLost(meta.jobId, meta.primaryKey, meta.instanceId, meta.owner, meta.total)
    await this.#removeFiles(meta.jobId, meta.spoolPath)
  }

  /** Resolves once every callback under way has been sent (or given up). */
  async flush (): Promise<void> {
    await Promise.all(this.#callbacks)
  }

  /** Sends the job's status object to its callback_url, if it has one, in the background. */
  notify (jobId: string, spec: JobSpec, event: CallbackEvent, log: Logger): void {
    const send = this.#deps.sendCallback
    if (send === undefined || spec.callbackUrl === null) return
    const callback = this.#deps.jobStore.get(jobId)
      .then(async (job) => job === null ? undefined : await send(jobId, spec, JSON.stringify(toJobStatus(job)), log, event))
      .catch((err: unknown) => log.error({ err, event }, 'callback failed'))
      .finally(() => this.#callbacks.delete(callback))
    this.#callbacks.add(callback)
  }

  async #removeFiles (jobId: string, spoolPath: string): Promise<void> {
    await unlink(spoolPath).catch(() => {})
    await removeReceipt(this.#deps.upload.spoolDir, jobId)
  }
}

function runError (err: unknown): JobError {
  switch ((err as { code?: unknown } | null)?.code) {
    case 'ENOENT': return { code: 'spool_lost', message: 'the spool file is gone' }
    case 'line_too_long': return { code: 'spool_corrupt', message: 'the spool file is corrupt' }
    default: return { code: 'job_error', message: 'processing failed; the records counted so far are kept' }
  }
}
