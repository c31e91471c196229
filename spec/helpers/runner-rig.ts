// What lib/deps.ts wires under the job runner, built for specs that drive JobRun and JobRunner
// directly rather than through HTTP: the real stores on the shared Redis under a fresh key
// prefix, a spool dir of the test's own, and the guarded connector with an open target
// policy (loopback targets are allowed, as with an empty CHRONOS_ALLOWED_TARGETS).
// addJob() leaves exactly what an accepted upload leaves: a spool file (line 1 the spec in
// wire form) and the job registered, with its receipt when asked (registerJob, as POST /run).
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { loadConfig } from '../../lib/config.js'
import { createGuardedConnector } from '../../lib/delivery/guarded-connector.js'
import type { ConnectorFactory } from '../../lib/delivery/http-pools.js'
import { createTargetPolicy } from '../../lib/delivery/target-policy.js'
import type { JobCounts } from '../../lib/domain/job-meta.js'
import { parseJobSpec, specToWire, type JobSpec, type JobSpecLimits } from '../../lib/domain/job-spec.js'
import { createLogger, type Logger } from '../../lib/logger.js'
import { registerJob } from '../../lib/runner/register-job.js'
import { spoolPathFor } from '../../lib/spool/spool-writer.js'
import { JobStore, type NewJob } from '../../lib/store/job-store.js'
import { Keys } from '../../lib/store/keys.js'
import { OutcomeStore } from '../../lib/store/outcome-store.js'
import { specLimits } from '../../lib/upload/accept-upload.js'
import { specLine, type SpecFields } from './ndjson.js'
import { deleteKeysWithPrefix, sharedRedis, uniquePrefix } from './redis.js'

export interface RigJob extends NewJob {
  readonly spec: JobSpec
}

export interface AddJobOptions {
  readonly targetPort: number
  /** Record lines as they go in the spool, one per record. */
  readonly recordLines: readonly string[]
  readonly fields?: SpecFields
  /** Register through registerJob(), receipt included (else JobStore.create only). @defaultValue false */
  readonly withReceipt?: boolean
}

export interface RunnerRig {
  readonly prefix: string
  readonly instanceId: string
  readonly redis: Redis
  readonly keys: Keys
  readonly jobStore: JobStore
  readonly outcomeStore: OutcomeStore
  readonly spoolDir: string
  readonly limits: JobSpecLimits
  readonly createConnector: ConnectorFactory
  readonly log: Logger
  addJob: (options: AddJobOptions) => Promise<RigJob>
  counts: (jobId: string) => Promise<JobCounts>
  /** Disconnects, deletes the prefix's keys and the spool dir. */
  close: () => Promise<void>
}

export async function createRunnerRig (instanceId = `runner-${randomUUID()}`): Promise<RunnerRig> {
  const prefix = uniquePrefix()
  const redis = new Redis(sharedRedis().url, { maxRetriesPerRequest: 1 })
  // registerJob() refuses at once while the connection is not ready yet (withStore).
  await redis.ping()
  const keys = new Keys(prefix)
  const jobStore = new JobStore(redis, keys, 3600)
  const outcomeStore = new OutcomeStore(redis, keys)
  const spoolDir = await mkdtemp(join(tmpdir(), 'chronos-runner-'))
  const limits = specLimits(loadConfig({}).delivery)
  const policy = createTargetPolicy([])
  const log = createLogger({ level: 'silent' })
  const createConnector: ConnectorFactory = (spec) => createGuardedConnector({ policy, port: spec.port, timeoutMs: Math.min(spec.timeoutMs, 10_000) })

  async function addJob (options: AddJobOptions): Promise<RigJob> {
    const parsed = parseJobSpec(JSON.parse(specLine(options.targetPort, options.fields)), limits)
    if (!parsed.ok) throw new Error(`bad spec: ${parsed.problems.join('; ')}`)
    const jobId = `job-${randomUUID()}`
    const spoolPath = spoolPathFor(spoolDir, jobId)
    const specJson = JSON.stringify(specToWire(parsed.spec))
    await writeFile(spoolPath, [specJson, ...options.recordLines].join('\n') + '\n')
    const job: NewJob = {
      jobId,
      primaryKey: parsed.spec.primaryKey,
      specJson,
      total: options.recordLines.length,
      spoolPath,
      instanceId,
      submittedAt: new Date().toISOString(),
      owner: ''
    }
    if (options.withReceipt === true) await registerJob(job, { redis, jobStore, spoolDir, log })
    else await jobStore.create(job)
    return { ...job, spec: parsed.spec }
  }

  return {
    prefix,
    instanceId,
    redis,
    keys,
    jobStore,
    outcomeStore,
    spoolDir,
    limits,
    createConnector,
    log,
    addJob,
    async counts (jobId) {
      const job = await jobStore.get(jobId)
      if (job === null) throw new Error(`job ${jobId} is not in the store`)
      return job.counts
    },
    async close () {
      redis.disconnect()
      await deleteKeysWithPrefix(sharedRedis().url, prefix)
      await rm(spoolDir, { recursive: true, force: true })
    }
  }
}

/** Record lines for ids 1..count, as makeRecords() builds them. */
export function recordLines (count: number): string[] {
  return Array.from({ length: count }, (_, i) => JSON.stringify({ id: i + 1, payload: JSON.stringify({ n: i + 1 }) }))
}
