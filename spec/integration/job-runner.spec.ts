// JobRunner (lib/runner/job-runner.ts), driven directly, wired as lib/deps.ts wires it: the
// queue and its maxActiveJobs bound, cancel, pause and resume, the shutdown drain, resuming
// the instance's jobs, recovery from a receipt, and the crash-strike quarantine. Real spool
// files and receipts, the real stores on the shared Redis, a real loopback target.
import { existsSync } from 'node:fs'
import { readdir } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { loadConfig } from '../../lib/config.js'
import type { JobSpec } from '../../lib/domain/job-spec.js'
import type { StoredJob } from '../../lib/domain/job-meta.js'
import { receiptPath } from '../../lib/spool/job-receipt.js'
import { JobRunner, type JobRunnerDeps } from '../../lib/runner/job-runner.js'
import { eventually } from '../helpers/ledger.js'
import { deleteKeysWithPrefix, sharedRedis } from '../helpers/redis.js'
import { createRunnerRig, recordLines, type RigJob, type RunnerRig } from '../helpers/runner-rig.js'
import { startTarget, type Target, type TargetScript } from '../helpers/target.js'

const config = loadConfig({})

describe('JobRunner', function () {
  let rig: RunnerRig
  let target: Target | undefined
  let runners: JobRunner[]

  beforeEach(async function () {
    rig = await createRunnerRig()
    runners = []
  })

  afterEach(async function () {
    await Promise.all(runners.map(async (runner) => await runner.close(0)))
    await target?.close()
    target = undefined
    await rig.close()
  })

  async function useTarget (script?: TargetScript): Promise<Target> {
    target = await startTarget(script)
    return target
  }

  function createRunner (options: { maxActiveJobs?: number, sendCallback?: JobRunnerDeps['sendCallback'] } = {}): JobRunner {
    const runner = new JobRunner({
      jobs: { ...config.jobs, instanceId: rig.instanceId, maxActiveJobs: options.maxActiveJobs ?? 4, outcomeBatchSize: 100, flushIntervalMs: 20 },
      upload: { ...config.upload, spoolDir: rig.spoolDir },
      specLimits: rig.limits,
      jobStore: rig.jobStore,
      outcomeStore: rig.outcomeStore,
      createConnector: rig.createConnector,
      log: rig.log,
      ...(options.sendCallback === undefined ? {} : { sendCallback: options.sendCallback })
    })
    runners.push(runner)
    return runner
  }

  async function addJob (port: number, records: number, fields: Record<string, unknown> = {}): Promise<RigJob> {
    return await rig.addJob({ targetPort: port, recordLines: recordLines(records), fields, withReceipt: true })
  }

  async function stored (jobId: string): Promise<StoredJob> {
    const job = await rig.jobStore.get(jobId)
    if (job === null) throw new Error(`job ${jobId} is not in the store`)
    return job
  }

  function requestsOf (server: Target, jobId: string): number {
    return server.requests.filter((request) => request.headers['x-chronos-job-id'] === jobId).length
  }

  it('runs an enqueued job to completed, keeps its failed records and removes its spool file and receipt', async function () {
    const server = await useTarget((req) => ({ status: Number(req.recordId) % 10 === 0 ? 400 : 200 }))
    const job = await addJob(server.port, 30, { concurrency: 3 })
    expect(existsSync(receiptPath(rig.spoolDir, job.jobId))).to.equal(true)
    const runner = createRunner()

    runner.enqueue(job.jobId)
    expect(runner.has(job.jobId)).to.equal(true)
    await runner.whenSettled(job.jobId)

    const { meta, counts } = await stored(job.jobId)
    expect(meta.state).to.equal('completed')
    expect(meta.startedAt).to.be.a('string')
    expect(counts).to.include({ count: 30, succeeded: 27, failed: 3 })
    expect(requestsOf(server, job.jobId)).to.equal(30)
    expect(await readdir(rig.spoolDir), 'only the failed records, kept for retry-failed').to.deep.equal([`${job.jobId}.failed.ndjson`])
    expect(runner.has(job.jobId)).to.equal(false)
  })

  it('sends the final status to the job\'s callback once it ends', async function () {
    const server = await useTarget()
    const job = await addJob(server.port, 3, { callback_url: `${server.origin}/done` })
    const calls: Array<{ jobId: string, spec: JobSpec, status: Record<string, unknown> }> = []
    const runner = createRunner({ sendCallback: async (jobId, spec, statusJson) => { calls.push({ jobId, spec, status: JSON.parse(statusJson) }) } })

    runner.enqueue(job.jobId)
    await runner.whenSettled(job.jobId)
    await runner.close(0)

    expect(calls).to.have.length(1)
    expect(calls[0]?.jobId).to.equal(job.jobId)
    expect(calls[0]?.spec.callbackUrl).to.equal(`${server.origin}/done`)
    expect(calls[0]?.status).to.include({ state: 'completed', count: 3 })
  })

  it('runs at most maxActiveJobs at once; the others wait in the queue, in order', async function () {
    const inFlight = new Map<string, number>()
    let mostJobsAtOnce = 0
    const server = await useTarget(async (req) => {
      const jobId = req.headers['x-chronos-job-id'] as string
      inFlight.set(jobId, (inFlight.get(jobId) ?? 0) + 1)
      mostJobsAtOnce = Math.max(mostJobsAtOnce, inFlight.size)
      await sleep(20)
      const left = (inFlight.get(jobId) ?? 1) - 1
      if (left === 0) inFlight.delete(jobId)
      else inFlight.set(jobId, left)
      return {}
    })
    const jobs = [await addJob(server.port, 10, { concurrency: 2 }), await addJob(server.port, 10, { concurrency: 2 }), await addJob(server.port, 10, { concurrency: 2 })]
    const runner = createRunner({ maxActiveJobs: 1 })

    for (const job of jobs) runner.enqueue(job.jobId)
    expect(runner.activeCount).to.equal(1)
    expect(runner.queuedCount).to.equal(2)
    expect(runner.jobsByState()).to.deep.equal({ queued: 2, running: 1, paused: 0 })
    for (const job of jobs) await runner.whenSettled(job.jobId)
    await eventually(() => expect(runner.activeCount).to.equal(0))

    for (const job of jobs) expect((await stored(job.jobId)).meta.state).to.equal('completed')
    expect(mostJobsAtOnce, 'jobs sending at the same time').to.equal(1)
    const firstRequestOf = jobs.map((job) => server.requests.findIndex((request) => request.headers['x-chronos-job-id'] === job.jobId))
    expect(firstRequestOf).to.deep.equal([...firstRequestOf].sort((a, b) => a - b))
  })

  it('ends a cancelled queued job cancelled without sending anything', async function () {
    const server = await useTarget(() => ({ delayMs: 50 }))
    const running = await addJob(server.port, 10, { concurrency: 1 })
    const queued = await addJob(server.port, 10)
    const runner = createRunner({ maxActiveJobs: 1 })
    runner.enqueue(running.jobId)
    runner.enqueue(queued.jobId)

    await runner.cancel(queued.jobId)

    const { meta, counts } = await stored(queued.jobId)
    expect(meta.state).to.equal('cancelled')
    expect(counts.count).to.equal(0)
    expect(runner.has(queued.jobId)).to.equal(false)
    expect(existsSync(queued.spoolPath)).to.equal(false)
    expect(existsSync(receiptPath(rig.spoolDir, queued.jobId))).to.equal(false)
    await runner.whenSettled(running.jobId)
    expect((await stored(running.jobId)).meta.state).to.equal('completed')
    expect(requestsOf(server, queued.jobId)).to.equal(0)
  })

  it('ends a cancelled running job cancelled, its unsent records uncounted', async function () {
    const server = await useTarget(() => ({ delayMs: 10_000 }))
    const job = await addJob(server.port, 20, { concurrency: 2 })
    const runner = createRunner()
    runner.enqueue(job.jobId)
    await server.waitForRequests(2)

    await runner.cancel(job.jobId)

    const { meta, counts } = await stored(job.jobId)
    expect(meta.state).to.equal('cancelled')
    expect(counts).to.include({ count: 2 })
    expect(counts.errors).to.deep.equal({ cancelled: 2 })
    expect(server.requests).to.have.length(2)
  })

  it('pauses a running job (nothing new is sent) and resumes it to completion', async function () {
    const server = await useTarget(() => ({ delayMs: 30 }))
    const job = await addJob(server.port, 20, { concurrency: 1 })
    const runner = createRunner()
    runner.enqueue(job.jobId)
    await server.waitForRequests(2)

    await runner.pause(job.jobId)
    expect((await stored(job.jobId)).meta.state).to.equal('paused')
    expect(runner.jobsByState()).to.deep.equal({ queued: 0, running: 0, paused: 1 })
    await sleep(100)
    const sentWhilePausing = server.requests.length
    await sleep(300)
    expect(server.requests, 'nothing new starts while paused').to.have.length(sentWhilePausing)

    await runner.resume(job.jobId)
    expect((await stored(job.jobId)).meta.state).to.equal('running')
    await runner.whenSettled(job.jobId)
    const { meta, counts } = await stored(job.jobId)
    expect(meta.state).to.equal('completed')
    expect(counts).to.include({ count: 20, succeeded: 20 })
  })

  it('on close(graceMs), drains running jobs: outcomes stored, job left live with its files for resume', async function () {
    const server = await useTarget(() => ({ delayMs: 200 }))
    const job = await addJob(server.port, 20, { concurrency: 2 })
    const queued = await addJob(server.port, 5)
    const runner = createRunner({ maxActiveJobs: 1 })
    runner.enqueue(job.jobId)
    runner.enqueue(queued.jobId)
    await server.waitForRequests(2)

    await runner.close(5000)

    const { meta, counts } = await stored(job.jobId)
    expect(meta.state, 'still live, to be resumed').to.equal('running')
    expect(counts).to.include({ count: 2, succeeded: 2 })
    expect(await rig.redis.hget(rig.keys.meta(job.jobId), 'run_open'), 'an orderly stop is no crash').to.equal('0')
    expect(existsSync(job.spoolPath)).to.equal(true)
    expect(existsSync(receiptPath(rig.spoolDir, job.jobId))).to.equal(true)
    expect((await stored(queued.jobId)).meta.state, 'the queued job never started').to.equal('queued')
    runner.enqueue(queued.jobId)
    expect(runner.has(queued.jobId), 'a closed runner takes no job').to.equal(false)
  })

  it('resumeOwned() picks up the instance\'s live jobs and finishes them without sending twice', async function () {
    const server = await useTarget(() => ({ delayMs: 100 }))
    const job = await addJob(server.port, 20, { concurrency: 2 })
    const queued = await addJob(server.port, 5)
    const first = createRunner({ maxActiveJobs: 1 })
    first.enqueue(job.jobId)
    first.enqueue(queued.jobId)
    await server.waitForRequests(2)
    await first.close(5000)
    const sentBefore = server.requests.length

    const second = createRunner()
    expect(await second.resumeOwned()).to.equal(2)
    await second.whenSettled(job.jobId)
    await second.whenSettled(queued.jobId)

    expect((await stored(job.jobId)).counts).to.include({ count: 20, succeeded: 20 })
    expect((await stored(queued.jobId)).counts).to.include({ count: 5, succeeded: 5 })
    expect((await stored(job.jobId)).meta.state).to.equal('completed')
    expect(requestsOf(server, job.jobId), 'the drained records were not sent again').to.equal(20)
    expect(sentBefore).to.be.at.least(2)
    expect(await readdir(rig.spoolDir)).to.deep.equal([])
  })

  it('registers a job whose Redis state vanished before it started again from its receipt, and runs it', async function () {
    const server = await useTarget()
    const job = await addJob(server.port, 10)
    // Redis lost its data (restarted without persistence): every key of the job goes.
    await deleteKeysWithPrefix(sharedRedis().url, rig.prefix)
    expect(await rig.jobStore.get(job.jobId)).to.equal(null)
    const runner = createRunner()

    runner.enqueue(job.jobId)
    await runner.whenSettled(job.jobId)

    const { meta, counts } = await stored(job.jobId)
    expect(meta.state).to.equal('completed')
    expect(meta.instanceId).to.equal(rig.instanceId)
    expect(counts).to.include({ count: 10, succeeded: 10 })
    expect(requestsOf(server, job.jobId)).to.equal(10)
    expect(await readdir(rig.spoolDir)).to.deep.equal([])
  })

  // When only the job's own keys are lost (evicted under an allkeys-* maxmemory policy, or one
  // Cluster shard failing over) while the primarykey's `live` pointer survives, the job
  // registered again from its receipt finds itself holding its primarykey: that is no
  // conflict (store/primary-keys.ts).
  it('registers a job whose own keys were lost (its primarykey pointer kept) again from its receipt', async function () {
    const server = await useTarget()
    const job = await addJob(server.port, 10)
    await rig.redis.del(...rig.keys.jobKeys(job.jobId))
    const runner = createRunner()

    runner.enqueue(job.jobId)
    await runner.whenSettled(job.jobId)

    expect((await stored(job.jobId)).meta.state).to.equal('completed')
    expect(requestsOf(server, job.jobId)).to.equal(10)
  })

  it('quarantines a job the process died under on resume, twice without progress, as failed/poison_job', async function () {
    const server = await useTarget()
    const job = await addJob(server.port, 10)
    // Three runs opened and never closed: the first start, then two resumes the process died
    // under (JobStore.openRun: the first run's death earns no strike).
    for (let run = 0; run < 3; run++) await rig.jobStore.openRun(job.jobId)
    const runner = createRunner()

    runner.enqueue(job.jobId)
    await runner.whenSettled(job.jobId)

    const { meta, counts } = await stored(job.jobId)
    expect(meta.state).to.equal('failed')
    expect(meta.error?.code).to.equal('poison_job')
    expect(counts.count).to.equal(0)
    expect(server.requests).to.have.length(0)
    expect(await readdir(rig.spoolDir)).to.deep.equal([])
  })
})
