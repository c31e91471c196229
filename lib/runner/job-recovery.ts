/**
 * Jobs whose Redis state is gone, and spool files whose job is gone (issue 18 item 3).
 * Redis without persistence forgets everything when it restarts; the spool dir does not.
 * What the receipt beside a spool file says decides (job-receipt.ts):
 *
 *   receipt, never started  → registered again from the receipt, queued (nothing was sent)
 *   receipt, started        → ends `failed` / `state_lost`: some records went out and their
 *                             counts are gone, so the job says so instead of re-sending all
 *   no receipt              → never acknowledged (no 202 went out): removed, never run
 *
 * sweepSpoolDir() walks the spool dir at start, after Redis comes back and hourly, so no
 * spool file is ever left behind, and also queues every live job that nobody queued or
 * leases (a crash between registration and queueing, or a job from before leases). Several
 * instances share the dir: the recovery of one job is done under its lease key, so two
 * sweeps never register the same job twice.
 */
import { readdir, stat, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import type { Logger } from '../logger.js'
import type { JobStore } from '../store/job-store.js'
import type { LeaseStore } from '../store/lease-store.js'
import { isLive, submittedAtMs, type JobMeta } from '../domain/job-meta.js'
import { readReceipt, RECEIPT_SUFFIX, removeReceipt } from '../spool/job-receipt.js'
import { spoolPathFor } from '../spool/spool-writer.js'

/** A spool file without a receipt is removed only once this old: its upload may still be registering. */
const UNRECEIPTED_GRACE_MS = 10 * 60_000
const SPOOL_SUFFIX = '.ndjson'

export interface RecoveryDeps {
  readonly spoolDir: string
  /** The instance that recovers the job owns it from now on. */
  readonly instanceId: string
  readonly jobStore: JobStore
  readonly leaseStore: LeaseStore
  readonly log: Logger
}

/** A job for the queue, with its submission time (the queue's order). */
export interface QueueEntry {
  readonly jobId: string
  readonly submittedAtMs: number
}

export type Recovery = 'registered' | 'state_lost' | 'gone'

/** A job the store no longer knows: registered again, ended as state_lost, or gone. */
export async function recoverJob (jobId: string, deps: RecoveryDeps): Promise<Recovery> {
  const { spoolDir, jobStore, log } = deps
  const receipt = await readReceipt(spoolDir, jobId)
  if (receipt === null) {
    log.warn({ jobId }, 'job vanished from the store and has no receipt: removing its spool file')
    await unlink(spoolPathFor(spoolDir, jobId)).catch(() => {})
    return 'gone'
  }
  if (receipt.startedAt === undefined) {
    const { startedAt: _ignored, ...job } = receipt
    await jobStore.create({ ...job, instanceId: deps.instanceId })
    log.warn({ jobId }, 'job vanished from the store before it started: registered again from its receipt')
    return 'registered'
  }
  log.error({ jobId }, 'job state lost in redis')
  await jobStore.recordStateLost(jobId, receipt.primaryKey, deps.instanceId, receipt.owner, receipt.total)
  await unlink(receipt.spoolPath).catch(() => {})
  await removeReceipt(spoolDir, jobId)
  return 'state_lost'
}

/**
 * Every spool file and receipt in the dir, checked against the store. Returns the jobs to
 * queue: those registered again, and live jobs that are neither paused, queued nor leased.
 */
export async function sweepSpoolDir (deps: RecoveryDeps, nowMs: number = Date.now()): Promise<QueueEntry[]> {
  const { spoolDir, jobStore, leaseStore, log } = deps
  const names = await readdir(spoolDir)
  const spools = new Set(names.filter((name) => name.endsWith(SPOOL_SUFFIX) && !name.endsWith('.failed.ndjson')).map((name) => name.slice(0, -SPOOL_SUFFIX.length)))
  const toQueue: QueueEntry[] = []
  for (const name of names) {
    if (!name.endsWith(RECEIPT_SUFFIX)) continue
    const jobId = name.slice(0, -RECEIPT_SUFFIX.length)
    // A receipt without its spool: the job ended between the two removals.
    if (!spools.has(jobId)) await removeReceipt(spoolDir, jobId)
  }
  for (const jobId of spools) {
    const job = await jobStore.get(jobId)
    if (job !== null) {
      if (isLive(job.meta.state)) {
        if (job.meta.state !== 'paused' && job.meta.leaseExpiresAt === null) toQueue.push(queueEntry(job.meta))
        continue
      }
      // Finished, but the process died before removing its files.
      await unlink(spoolPathFor(spoolDir, jobId)).catch(() => {})
      await removeReceipt(spoolDir, jobId)
      continue
    }
    if (await readReceipt(spoolDir, jobId) === null && !await isOlderThan(join(spoolDir, `${jobId}${SPOOL_SUFFIX}`), UNRECEIPTED_GRACE_MS, nowMs)) continue
    const lock = await leaseStore.lockForRecovery(jobId, deps.instanceId)
    if (lock === null) continue
    try {
      if (await jobStore.get(jobId) === null && await recoverJob(jobId, deps) === 'registered') toQueue.push({ jobId, submittedAtMs: nowMs })
    } finally {
      await leaseStore.release(lock)
    }
  }
  if (toQueue.length > 0) log.info({ jobs: toQueue.length }, 'queued live jobs found in the spool dir')
  return toQueue
}

function queueEntry (meta: JobMeta): QueueEntry {
  return { jobId: meta.jobId, submittedAtMs: submittedAtMs(meta) }
}

async function isOlderThan (path: string, ageMs: number, nowMs: number): Promise<boolean> {
  try {
    return nowMs - (await stat(path)).mtimeMs >= ageMs
  } catch {
    return false
  }
}

/** sweepSpoolDir() for one runner: one sweep at a time. */
export class JobRecovery {
  readonly #deps: RecoveryDeps
  #sweeping: Promise<unknown> = Promise.resolve()

  constructor (deps: RecoveryDeps) {
    this.#deps = deps
  }

  /** The jobs to queue (see sweepSpoolDir). */
  async sweep (): Promise<QueueEntry[]> {
    const sweep = this.#sweeping.then(async () => await sweepSpoolDir(this.#deps))
    this.#sweeping = sweep.catch(() => {})
    return await sweep
  }
}
