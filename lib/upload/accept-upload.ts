/**
 * POST /run's work: request → [gunzip] → intake → spool writer, joined with
 * pipeline() so one failure or a client abort tears down every stage. Only when the spool
 * file is fsynced is the job registered in Redis; any failure on the way removes the spool
 * file and every key, so a rejected upload leaves nothing behind and sends nothing.
 * The intake is the line validator for NDJSON (DESIGN §1) or json-intake.ts's stages for a
 * JSON document (DESIGN §10), picked by media type; both write the same spool format.
 */
import type { IncomingMessage } from 'node:http'
import { createGunzip } from 'node:zlib'
import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import type { DeliveryConfig, UploadConfig } from '../config.js'
import { InvalidRequestError, JobConflictError, PayloadTooLargeError, ShuttingDownError, errorCode } from '../errors.js'
import { newJobId, type AcceptedJob } from '../domain/job-id.js'
import { specToWire, type JobSpec, type JobSpecLimits } from '../domain/job-spec.js'
import type { JobStore } from '../store/job-store.js'
import type { Logger } from '../logger.js'
import { withStore, type Redis } from '../store/redis.js'
import { checkMediaType } from './media-type.js'
import { createLineValidator } from './line-validator.js'
import { createJsonIntake, type IntakeOptions, type UploadIntake } from './json-intake.js'
import { createSpoolWriter } from '../spool/spool-writer.js'
import { registerJob } from '../runner/register-job.js'

export type { AcceptedJob }

/**
 * Inflated bytes per gunzip chunk. zlib's default, 16 KiB, made stream bookkeeping per chunk
 * the larger part of inflating a highly compressed body (1 GiB of blank lines: 2.3 s of CPU
 * at 16 KiB, 1.0 s at 256 KiB; issue 18 item 9); the validator takes 256 KiB writes anyway.
 */
const GUNZIP_CHUNK_BYTES = 256 * 1024

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
  readonly enqueue: (jobId: string) => void
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
  const { format, isGzip } = checkMediaType(request.headers['content-type'], request.headers['content-encoding'])
  const declaredBytes = Number(request.headers['content-length'])
  if (!isGzip && declaredBytes > deps.upload.maxUploadBytes) {
    throw new PayloadTooLargeError(`the upload is larger than ${deps.upload.maxUploadBytes} bytes`)
  }
  // Fail fast (503 within about 2 s) rather than spool gigabytes we could not register.
  await withStore(deps.redis, async () => await deps.redis.ping())

  const jobId = newJobId()
  const spool = createSpoolWriter(deps.upload.spoolDir, jobId)
  const intakeOptions: IntakeOptions = {
    maxLineBytes: deps.upload.maxLineBytes,
    maxUploadBytes: deps.upload.maxUploadBytes,
    specLimits: specLimits(deps.delivery),
    onSpec: async (spec) => {
      await deps.checkTarget(spec)
      const holder = await withStore(deps.redis, async () => await deps.jobStore.findLive(request.owner, spec.primaryKey))
      if (holder !== null) throw new JobConflictError(`a job with primarykey "${spec.primaryKey}" is still live`, holder)
    },
    onHead: (head) => spool.setHead(head)
  }
  const validator = format === 'json' ? createJsonIntake(intakeOptions) : ndjsonIntake(intakeOptions)
  try {
    const stages = isGzip ? [createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES }), ...validator.stages] : validator.stages
    await pipeline([request.body, ...stages, spool])
  } catch (caught) {
    deps.onUploadBytes?.(validator.bytes, false)
    await spool.discard()
    const err = validator.answerFor(caught)
    const code = errorCode(err)
    if (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR') {
      throw new InvalidRequestError('the body is not valid gzip', { cause: err })
    }
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
  deps.enqueue(jobId)
  return { jobId, primaryKey: spec.primaryKey, records: validator.records }
}

function ndjsonIntake (options: IntakeOptions): UploadIntake {
  const validator = createLineValidator(options)
  return {
    stages: [validator],
    get bytes () { return validator.bytes },
    get spec () { return validator.spec },
    get records () { return validator.records },
    answerFor: (err) => err
  }
}

export function specLimits (delivery: DeliveryConfig): JobSpecLimits {
  return {
    defaultConcurrency: delivery.concurrency,
    maxConcurrency: delivery.maxConcurrency,
    defaultTimeoutMs: delivery.timeoutMs,
    defaultMaxAttempts: delivery.maxAttempts
  }
}
