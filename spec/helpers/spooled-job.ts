// A job put straight into a spool dir and Redis, as an earlier Chronos would have accepted it:
// for specs about jobs the current upload rules would refuse (poison records) or about what
// a restart finds on disk. It uses the real JobStore and receipt code, so what it writes is
// exactly what an accepted upload leaves behind.
import { randomUUID } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { Redis } from 'ioredis'
import { loadConfig } from '../../lib/config.js'
import { parseJobSpec, specToWire } from '../../lib/domain/job-spec.js'
import { specLimits } from '../../lib/upload/accept-upload.js'
import { spoolPathFor } from '../../lib/spool/spool-writer.js'
import { writeReceipt } from '../../lib/spool/job-receipt.js'
import { JobStore, type NewJob } from '../../lib/store/job-store.js'
import { Keys } from '../../lib/store/keys.js'
import { specLine, type SpecFields } from './ndjson.js'

export interface SpooledJobOptions {
  readonly redisUrl: string
  readonly prefix: string
  readonly spoolDir: string
  readonly instanceId: string
  readonly targetPort: number
  /** Record lines as they go in the spool, one per record. */
  readonly recordLines: readonly string[]
  readonly fields?: SpecFields
  /** Register it in Redis too (else only the files exist, as after Redis lost its data). @defaultValue true */
  readonly isRegistered?: boolean
}

export async function spoolJob (options: SpooledJobOptions): Promise<NewJob> {
  const parsed = parseJobSpec(JSON.parse(specLine(options.targetPort, options.fields)), specLimits(loadConfig({}).delivery))
  if (!parsed.ok) throw new Error(`bad spec: ${parsed.problems.join('; ')}`)
  const jobId = `job-${randomUUID()}`
  const spoolPath = spoolPathFor(options.spoolDir, jobId)
  const specJson = JSON.stringify(specToWire(parsed.spec))
  await writeFile(spoolPath, [specJson, ...options.recordLines].join('\n') + '\n')
  const job: NewJob = {
    jobId,
    primaryKey: parsed.spec.primaryKey,
    specJson,
    total: options.recordLines.length,
    spoolPath,
    instanceId: options.instanceId,
    submittedAt: new Date().toISOString(),
    owner: ''
  }
  if (options.isRegistered ?? true) {
    const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 3 })
    try {
      await new JobStore(redis, new Keys(options.prefix), 3600).create(job)
    } finally {
      redis.disconnect()
    }
  }
  await writeReceipt(options.spoolDir, job)
  return job
}
