/**
 * POST /run's work: request → [gunzip] → intake → spool writer, joined with
 * pipeline() so one failure or a client abort tears down every stage. Only when the spool
 * file is fsynced is the job registered in Redis; any failure on the way removes the spool
 * file and every key, so a rejected upload leaves nothing behind and sends nothing.
 * The intake is the line validator for NDJSON (DESIGN §1) or json-intake.ts's stages for a
 * JSON document (DESIGN §10), picked by media type; both write the same spool format.
 */
import type { IncomingMessage } from 'node:http'
import type { Readable } from 'node:stream'
import type { DeliveryConfig, UploadConfig } from '../config.js'
import { JobConflictError, ShuttingDownError } from '../errors.js'
import { newJobId, type AcceptedJob } from '../domain/job-id.js'
import { specToWire, type JobSpec, type JobSpecLimits } from '../domain/job-spec.js'
import type { JobStore } from '../store/job-store.js'
import type { Logger } from '../logger.js'
import { withStore, type Redis } from '../store/redis.js'
import { checkFraming, createIntake, readUpload } from './read-upload.js'
import { createSpoolWriter } from '../spool/spool-writer.js'
import { registerJob } from '../runner/register-job.js'

export type { AcceptedJob }

export interface AcceptUploadDeps {
  readonly upload: UploadConfig
  readonly delivery: DeliveryConfig
  readonly instanceId: string
  readonly redis: Redis
  readonly jobStore: JobStore
  readonly log: Logger
  /** Throws TargetForbiddenError when the spec's target is not allowed. */
  readonly checkTarget: (spec: JobSpec) => Promise<void> | void
  /** Hands an accepted job to the runner. */
  readonly enqueue: (jobId: string) => Promise<void>
  readonly isAcceptingUploads: () => boolean
  /** Told the decompressed size of every upload that reached the validator. */
  readonly onUploadBytes?: (bytes: number, isAccepted: boolean) => void
}

export interface UploadRequest {
  readonly body: Readable
  readonly headers: IncomingMessage['headers']
  /** Fingerprint of the caller's API key, '' when the API is open. */
  readonly owner: string
}

export async function acceptUpload (request: UploadRequest, deps: AcceptUploadDeps): Promise<AcceptedJob> {
  if (!deps.isAcceptingUploads()) throw new ShuttingDownError('Chronos is shutting down and takes no new uploads')
  const framing = checkFraming(request.headers, deps.upload.maxUploadBytes)
  // Fail fast (503 within about 2 s) rather than spool gigabytes we could not register.
  await withStore(deps.redis, async () => await deps.redis.ping())

  const jobId = newJobId()
  const spool = createSpoolWriter(deps.upload.spoolDir, jobId)
  const validator = createIntake(framing, {
    maxLineBytes: deps.upload.maxLineBytes,
    maxUploadBytes: deps.upload.maxUploadBytes,
    specLimits: specLimits(deps.delivery),
    onSpec: async (spec) => await checkLineOne(spec, request.owner, deps),
    // JSON only: the config may come after the records; it is written over line 1 at the end.
    onHead: (head) => spool.setHead(head)
  })
  try {
    await readUpload(request.body, framing, validator, spool)
  } catch (err) {
    deps.onUploadBytes?.(validator.bytes, false)
    await spool.discard()
    throw err
  }

  const spec = validator.spec as JobSpec
  try {
    await registerJob({
      jobId,
      primaryKey: spec.primaryKey,
      specJson: JSON.stringify(specToWire(spec)),
      total: validator.records,
      spoolPath: spool.path,
      instanceId: deps.instanceId,
      submittedAt: new Date().toISOString(),
      owner: request.owner
    }, { redis: deps.redis, jobStore: deps.jobStore, spoolDir: deps.upload.spoolDir, log: deps.log })
  } catch (err) {
    deps.onUploadBytes?.(validator.bytes, false)
    await spool.discard()
    throw err
  }
  deps.onUploadBytes?.(validator.bytes, true)
  await deps.enqueue(jobId)
  return { jobId, primaryKey: spec.primaryKey, records: validator.records }
}

/** Line 1's checks once it parses: the target policy (403), then a live job of its primarykey (409). */
export async function checkLineOne (spec: JobSpec, owner: string, deps: Pick<AcceptUploadDeps, 'checkTarget' | 'redis' | 'jobStore'>): Promise<void> {
  await deps.checkTarget(spec)
  const holder = await withStore(deps.redis, async () => await deps.jobStore.findLive(owner, spec.primaryKey))
  if (holder !== null) throw new JobConflictError(`a job with primarykey "${spec.primaryKey}" is still live`, holder)
}

export function specLimits (delivery: DeliveryConfig): JobSpecLimits {
  return {
    defaultConcurrency: delivery.concurrency,
    maxConcurrency: delivery.maxConcurrency,
    defaultTimeoutMs: delivery.timeoutMs,
    defaultMaxAttempts: delivery.maxAttempts
  }
}
