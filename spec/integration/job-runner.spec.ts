// JobRunner (lib/runner/job-runner.ts) and JobControl (job-control.ts), driven directly, wired
// as lib/deps.ts wires them: the fleet's queue and the maxActiveJobs bound, cancel, pause and
// resume, the shutdown hand-over, leases and fencing between two runners, recovery from a
// receipt, and the crash-strike quarantine. Real spool files and receipts, the real stores and
// control channel on the shared Redis, a real loopback target.
import { existsSync } from 'node:fs'
import { readdir, unlink } from 'node:fs/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { loadConfig } from '../../lib/config.js'
import type { JobSpec } from '../../lib/domain/job-spec.js'
import type { StoredJob } from '../../lib/domain/job-meta.js'
import { receiptPath } from '../../lib/spool/job-receipt.js'
import { JobRunner, type JobRunnerDeps } from '../../lib/runner/job-runner.js'
import { JobControl } from '../../lib/runner/job-control.js'
import { LeaseStore } from '../../lib/store/lease-store.js'
import { ControlChannel } from '../../lib/store/control-channel.js'
import { eventually } from '../helpers/ledger.js'
import { deleteKeysWithPrefix, sharedRedis } from '../helpers/redis.js'
import { createRunnerRig, recordLines, type RigJob, type RunnerRig } from '../helpers/runner-rig.js'
import { startTarget, type Target, type TargetScript } from '../helpers/target.js'

const config = loadConfig({})

describe('JobRunner', function () {
  let rig: RunnerRig
  let target: Target | undefined
  let runners: JobRunner[]
  let channels: ControlChannel[]

  beforeEach(async function () {
    rig = await createRunnerRig()
    runners = []
    channels = []
  })

  afterEach(async function () {
    await Promise.all(runners.map(async (runner) => await runner.close(0)))
    await Promise.all(channels.map(async (channel) => await channel.close()))
    await target?.close()
    target = undefined
    await rig.close()
  })

  async function useTarget (script?: TargetScript): Promise<Target> {
    target = await startTarget(script)
    return target
  }

  interface RunnerOptions {
    maxActiveJobs?: number
    leaseMs?: number
    instanceId?: string
    sendCallback?: JobRunnerDeps['sendCallback']
  }

  /** A runner and its JobControl, each with its own instance id, lease store and channel. */
  async function createRunner (options: RunnerOptions = {}): Promise<JobRunner & { control: JobControl, leases: LeaseStore }> {
    const instanceId = options.instanceId ?? `${rig.instanceId}-${runners.length}`
    const leases = new LeaseStore(rig.redis, rig.keys, options.leaseMs ?? 15_000)
    const channel = new ControlChannel(rig.redis, rig.redis.duplicate(), rig.keys)
    await channel.open()
    channels.push(channel)
    const runner = new JobRunner({
      jobs: { ...config.jobs, instanceId, maxActiveJobs: options.maxActiveJobs ?? 4, outcomeBatchSize: 100, flushIntervalMs: 20 },
      upload: { ...config.upload, spoolDir: rig.spoolDir },
      specLimits: rig.limits,
      jobStore: rig.jobStore,
      outcomeStore: rig.outcomeStore,
      leaseStore: leases,
      channel,
      pauseGraceMs: 5000,
      createConnector: rig.createConnector,
      log: rig.log,
      ...(options.sendCallback === undefined ? {} : { sendCallback: options.sendCallback })
    })
    runners.push(runner)
    const control = new JobControl({ instanceId, runner, jobStore: rig.jobStore, leaseStore: leases, channel, specLimits: rig.limits, log: rig.log })
    return Object.assign(runner, { control, leases })
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
    const runner = await createRunner()

    await runner.enqueue(job.jobId)
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
    const runner = await createRunner({ sendCallback: async (jobId, spec, statusJson) => { calls.push({ jobId, spec, status: JSON.parse(statusJson) }) } })

    await runner.enqueue(job.jobId)
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
    const runner = await createRunner({ maxActiveJobs: 1 })

    // Submitted a millisecond apart: jobs of the same millisecond have no order between them.
    const submittedAt = Date.now()
    for (const [i, job] of jobs.entries()) await runner.enqueue(job.jobId, submittedAt + i)
    await eventually(() => expect(runner.activeCount).to.equal(1))
    expect(await runner.leases.queued(10), 'the fleet queue, oldest first').to.deep.equal([jobs[1]?.jobId, jobs[2]?.jobId])
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
    const runner = await createRunner({ maxActiveJobs: 1 })
    await runner.enqueue(running.jobId)
    await runner.enqueue(queued.jobId)

    await runner.control.cancel(queued.jobId)

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
    const runner = await createRunner()
    await runner.enqueue(job.jobId)
    await server.waitForRequests(2)

    await runner.control.cancel(job.jobId)

    const { meta, counts } = await stored(job.jobId)
    expect(meta.state).to.equal('cancelled')
    expect(counts).to.include({ count: 2 })
    expect(counts.errors).to.deep.equal({ cancelled: 2 })
    expect(server.requests).to.have.length(2)
  })

  it('pauses a running job (nothing new is sent, its slot and lease given up) and resumes it to completion', async function () {
    const server = await useTarget(() => ({ delayMs: 30 }))
    const job = await addJob(server.port, 20, { concurrency: 1 })
    const runner = await createRunner()
    await runner.enqueue(job.jobId)
    await server.waitForRequests(2)

    await runner.control.pause(job.jobId)
    const sentAtAnswer = server.requests.length
    expect((await stored(job.jobId)).meta.state).to.equal('paused')
    await eventually(() => expect(runner.activeCount, 'the slot is free again').to.equal(0))
    expect((await stored(job.jobId)).meta.leaseExpiresAt, 'nobody holds the lease').to.equal(null)
    await sleep(300)
    expect(server.requests.length, 'at most the one in flight at the answer finished').to.be.at.most(sentAtAnswer + 1)

    await runner.control.resume(job.jobId)
    await eventually(async () => expect((await stored(job.jobId)).meta.state).to.equal('completed'), 10_000)
    expect((await stored(job.jobId)).counts).to.include({ count: 20, succeeded: 20 })
    expect(requestsOf(server, job.jobId), 'nothing sent twice').to.equal(20)
  })

  it('on close(graceMs), drains running jobs and hands them to the fleet: outcomes stored, lease given up, queued again', async function () {
    const server = await useTarget(() => ({ delayMs: 200 }))
    const job = await addJob(server.port, 20, { concurrency: 2 })
    const queued = await addJob(server.port, 5)
    const runner = await createRunner({ maxActiveJobs: 1 })
    await runner.enqueue(job.jobId)
    await runner.enqueue(queued.jobId)
    await server.waitForRequests(2)

    await runner.close(5000)

    const { meta, counts } = await stored(job.jobId)
    expect(meta.state, 'still live, for another instance').to.equal('running')
    expect(meta.leaseExpiresAt, 'its lease given up').to.equal(null)
    expect(counts).to.include({ count: 2, succeeded: 2 })
    expect(await rig.redis.hget(rig.keys.meta(job.jobId), 'run_open'), 'an orderly stop is no crash').to.equal('0')
    expect(existsSync(job.spoolPath)).to.equal(true)
    expect(existsSync(receiptPath(rig.spoolDir, job.jobId))).to.equal(true)
    expect((await stored(queued.jobId)).meta.state, 'the queued job never started').to.equal('queued')
    expect(await runner.leases.queued(10), 'both wait in the fleet queue, oldest first').to.deep.equal([job.jobId, queued.jobId])
    await runner.enqueue(queued.jobId)
    expect(runner.has(queued.jobId), 'a closed runner takes no job').to.equal(false)
  })

  it('another runner takes the handed-over jobs and finishes them without sending twice', async function () {
    const server = await useTarget(() => ({ delayMs: 100 }))
    const job = await addJob(server.port, 20, { concurrency: 2 })
    const queued = await addJob(server.port, 5)
    const first = await createRunner({ maxActiveJobs: 1 })
    await first.enqueue(job.jobId)
    await first.enqueue(queued.jobId)
    await server.waitForRequests(2)
    await first.close(5000)

    const second = await createRunner()
    await second.start()
    await eventually(async () => {
      expect((await stored(job.jobId)).meta.state).to.equal('completed')
      expect((await stored(queued.jobId)).meta.state).to.equal('completed')
    }, 10_000)
    expect((await stored(job.jobId)).counts).to.include({ count: 20, succeeded: 20 })
    expect((await stored(queued.jobId)).counts).to.include({ count: 5, succeeded: 5 })
    expect(requestsOf(server, job.jobId), 'the drained records were not sent again').to.equal(20)
    expect(second.leaseStats.takeovers, 'handed over, not taken over').to.equal(0)
    await eventually(async () => expect(await readdir(rig.spoolDir)).to.deep.equal([]))
  })

  it('takes over a job whose holder stopped renewing; the old holder\'s writes are fenced off', async function () {
    const server = await useTarget(() => ({ delayMs: 20 }))
    const job = await addJob(server.port, 400, { concurrency: 4 })
    const first = await createRunner({ leaseMs: 600 })
    await first.enqueue(job.jobId)
    await server.waitForRequests(20)
    // The first holder stops renewing (as a frozen process would, without stopping its
    // sends); a second instance takes the job over once the lease ends, the token moves on,
    // and the first holder's next write is refused.
    const firstHolder = await rig.redis.get(rig.keys.lease(job.jobId))
    first.active.get(job.jobId)?.keeper.stop()
    const second = await createRunner({ leaseMs: 600 })
    await second.start()
    await eventually(() => expect(second.has(job.jobId)).to.equal(true), 5000)
    expect(await rig.redis.get(rig.keys.lease(job.jobId))).to.not.equal(firstHolder)
    await eventually(() => expect(first.has(job.jobId), 'the deposed holder stopped').to.equal(false), 5000)
    expect(first.leaseStats.fenced).to.equal(1)
    expect(second.leaseStats.takeovers).to.equal(1)

    await eventually(async () => expect((await stored(job.jobId)).meta.state).to.equal('completed'), 15_000)
    const { counts, meta } = await stored(job.jobId)
    expect(counts).to.include({ count: 400, succeeded: 400 })
    expect(meta.instanceId, 'the status names the new holder').to.equal(`${rig.instanceId}-1`)
    const delivered = new Set(server.requests.filter((request) => request.headers['x-chronos-job-id'] === job.jobId).map((request) => request.recordId))
    expect(delivered.size, 'every record delivered at least once').to.equal(400)
  })

  it('cancels and pauses a job that runs on another runner, from this one', async function () {
    const server = await useTarget(() => ({ delayMs: 20 }))
    const paused = await addJob(server.port, 200, { concurrency: 2 })
    const cancelled = await addJob(server.port, 200, { concurrency: 2 })
    const holder = await createRunner()
    await holder.enqueue(paused.jobId)
    await holder.enqueue(cancelled.jobId)
    await eventually(() => expect(holder.activeCount).to.equal(2))
    const other = await createRunner()
    await server.waitForRequests(10)

    await other.control.pause(paused.jobId)
    expect((await stored(paused.jobId)).meta.state).to.equal('paused')
    await other.control.cancel(cancelled.jobId)
    expect((await stored(cancelled.jobId)).meta.state).to.equal('cancelled')
    await eventually(() => expect(holder.activeCount).to.equal(0))
    const sent = server.requests.length
    await sleep(200)
    expect(server.requests.length, 'nothing starts after the answers').to.equal(sent)

    await other.control.resume(paused.jobId)
    await eventually(async () => expect((await stored(paused.jobId)).meta.state).to.equal('completed'), 10_000)
    expect((await stored(paused.jobId)).counts).to.include({ count: 200, succeeded: 200 })
  })

  it('ends a job it takes whose spool file is gone failed/spool_lost, instead of running forever', async function () {
    const server = await useTarget()
    const job = await addJob(server.port, 10)
    await unlink(job.spoolPath)
    const runner = await createRunner()

    await runner.enqueue(job.jobId)
    await eventually(async () => expect((await stored(job.jobId)).meta.state).to.equal('failed'))
    expect((await stored(job.jobId)).meta.error?.code).to.equal('spool_lost')
    expect(await rig.redis.exists(rig.keys.lease(job.jobId)), 'no lease left behind').to.equal(0)
    expect(server.requests).to.have.length(0)
  })

  it('registers a job whose Redis state vanished before it started again from its receipt, and runs it', async function () {
    const server = await useTarget()
    const job = await addJob(server.port, 10)
    // Redis lost its data (restarted without persistence): every key of the job goes.
    await deleteKeysWithPrefix(sharedRedis().url, rig.prefix)
    expect(await rig.jobStore.get(job.jobId)).to.equal(null)
    const runner = await createRunner()

    await runner.sweep()
    await eventually(async () => expect((await stored(job.jobId)).meta.state).to.equal('completed'))

    const { meta, counts } = await stored(job.jobId)
    expect(meta.state).to.equal('completed')
    expect(meta.instanceId).to.equal(`${rig.instanceId}-0`)
    expect(counts).to.include({ count: 10, succeeded: 10 })
    expect(requestsOf(server, job.jobId)).to.equal(10)
    // The files go just after the final state is written.
    await eventually(async () => expect(await readdir(rig.spoolDir)).to.deep.equal([]))
  })

  // When only the job's own keys are lost (evicted under an allkeys-* maxmemory policy, or one
  // Cluster shard failing over) while the primarykey's `live` pointer survives, the job
  // registered again from its receipt finds itself holding its primarykey: that is no
  // conflict (store/primary-keys.ts).
  it('registers a job whose own keys were lost (its primarykey pointer kept) again from its receipt', async function () {
    const server = await useTarget()
    const job = await addJob(server.port, 10)
    await rig.redis.del(...rig.keys.jobKeys(job.jobId))
    const runner = await createRunner()

    await runner.sweep()
    await eventually(async () => expect((await stored(job.jobId)).meta.state).to.equal('completed'))

    expect((await stored(job.jobId)).meta.state).to.equal('completed')
    expect(requestsOf(server, job.jobId)).to.equal(10)
  })

  it('quarantines a job the process died under on resume, twice without progress, as failed/poison_job', async function () {
    const server = await useTarget()
    const job = await addJob(server.port, 10)
    // Three runs opened and never closed: the first start, then two resumes the process died
    // under (JobStore.openRun: the first run's death earns no strike).
    for (let run = 0; run < 3; run++) await rig.jobStore.openRun(job.jobId)
    const runner = await createRunner()

    await runner.enqueue(job.jobId)
    await runner.whenSettled(job.jobId)

    const { meta, counts } = await stored(job.jobId)
    expect(meta.state).to.equal('failed')
    expect(meta.error?.code).to.equal('poison_job')
    expect(counts.count).to.equal(0)
    expect(server.requests).to.have.length(0)
    expect(await readdir(rig.spoolDir)).to.deep.equal([])
  })
})
