// JobRun (lib/runner/run-job.ts), one job's run, driven directly: a real spool file, the real
// stores on the shared Redis, a real loopback target. How each run ends ('completed',
// 'cancelled', 'drained', 'state_lost', a rejection) and what it counted on the way.
import { expect } from 'chai'
import { setTimeout as sleep } from 'node:timers/promises'
import { JobRun, type RunJobOptions } from '../../lib/runner/run-job.js'
import { OutcomeStore } from '../../lib/store/outcome-store.js'
import { eventually } from '../helpers/ledger.js'
import { createRunnerRig, recordLines, type RigJob, type RunnerRig } from '../helpers/runner-rig.js'
import { startTarget, type Target, type TargetReply, type TargetScript } from '../helpers/target.js'

const MAX_LINE_BYTES = 1024 * 1024

describe('JobRun', function () {
  let rig: RunnerRig
  let target: Target | undefined

  beforeEach(async function () {
    rig = await createRunnerRig()
  })

  afterEach(async function () {
    await target?.close()
    target = undefined
    await rig.close()
  })

  async function useTarget (script?: TargetScript): Promise<Target> {
    target = await startTarget(script)
    return target
  }

  function jobRun (job: RigJob, options: Partial<RunJobOptions> = {}): JobRun {
    return new JobRun({
      jobId: job.jobId,
      spec: job.spec,
      spoolPath: job.spoolPath,
      isResume: false,
      maxLineBytes: MAX_LINE_BYTES,
      outcomeBatchSize: 100,
      flushIntervalMs: 20,
      outcomeStore: rig.outcomeStore,
      createConnector: rig.createConnector,
      log: rig.log,
      ...options
    })
  }

  it('completes with every record counted exactly once, retries and failures included', async function () {
    // Record 7 answers 503 once, then 200 (one retry); ids 10, 20, …, 50 answer 400 (final).
    const server = await useTarget((req, attempt): TargetReply => {
      const id = Number(req.recordId)
      if (id === 7 && attempt === 1) return { status: 503, headers: { 'retry-after': '0' } }
      return { status: id % 10 === 0 ? 400 : 200 }
    })
    const job = await rig.addJob({ targetPort: server.port, recordLines: recordLines(50), fields: { concurrency: 4 } })
    const seen: number[] = []

    expect(await jobRun(job, { onOutcome: (outcome) => seen.push(outcome.index) }).run()).to.equal('completed')

    const counts = await rig.counts(job.jobId)
    expect(counts).to.include({ count: 50, succeeded: 45, failed: 5, retries: 1 })
    expect(counts.statusCodes).to.deep.equal({ 200: 45, 400: 5 })
    expect(counts.errors).to.deep.equal({ http_status: 5 })
    expect(server.requests).to.have.length(51)
    expect(new Set(server.requests.map((request) => request.recordId)).size).to.equal(50)
    expect(server.maxInFlight).to.be.at.most(4)
    expect(seen.sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i))
  })

  it('on a resumed run, skips the records already counted and sends only the rest', async function () {
    const server = await useTarget()
    const job = await rig.addJob({ targetPort: server.port, recordLines: recordLines(50) })
    // Records 0-19 and 30 were counted by an earlier run.
    const counted = [...Array.from({ length: 20 }, (_, i) => i), 30]
    await rig.outcomeStore.write(job.jobId, counted.map((index) => OutcomeStore.pack({
      index, idJson: String(index + 1), ok: true, status: 200, attempts: 1, timeMs: 1, error: null
    })).join(''))

    expect(await jobRun(job, { isResume: true }).run()).to.equal('completed')

    expect(await rig.counts(job.jobId)).to.include({ count: 50, succeeded: 50, failed: 0 })
    const sent = server.requests.map((request) => Number(request.recordId)).sort((a, b) => a - b)
    expect(sent).to.deep.equal(Array.from({ length: 30 }, (_, i) => i + 21).filter((id) => id !== 31))
  })

  it('on pause() starts nothing more; drain() then lets in-flight requests finish and ends the run drained', async function () {
    const server = await useTarget(() => ({ delayMs: 100 }))
    const job = await rig.addJob({ targetPort: server.port, recordLines: recordLines(10), fields: { concurrency: 2 } })
    const run = jobRun(job)
    const ended = run.run()
    await server.waitForRequests(2)
    run.pause()
    expect(run.isPaused).to.equal(true)
    await sleep(300)
    expect(server.requests, 'nothing new starts while paused').to.have.length(2)
    await run.drain(5000)
    expect(await ended).to.equal('drained')
    expect(await rig.counts(job.jobId), 'the in-flight requests were counted').to.include({ count: 2 })
  })

  it('refuses to count under a fencing token that is no longer the newest, and ends fenced', async function () {
    const server = await useTarget()
    const job = await rig.addJob({ targetPort: server.port, recordLines: recordLines(20) })
    // Another instance took the job over: its lease bumped the token to 2.
    await rig.redis.hset(rig.keys.meta(job.jobId), 'fence', 2)
    expect(await jobRun(job, { fence: 1 }).run()).to.equal('fenced')
    expect(await rig.counts(job.jobId)).to.include({ count: 0 })

    expect(await jobRun(job, { fence: 2 }).run()).to.equal('completed')
    expect(await rig.counts(job.jobId)).to.include({ count: 20, succeeded: 20 })
  })

  it('on abandon() (lease lost) stops at once and ends fenced', async function () {
    const server = await useTarget(() => ({ delayMs: 10_000 }))
    const job = await rig.addJob({ targetPort: server.port, recordLines: recordLines(20), fields: { concurrency: 2 } })
    const run = jobRun(job)
    const ended = run.run()
    await server.waitForRequests(2)
    run.abandon()
    expect(await ended).to.equal('fenced')
    await sleep(100)
    expect(server.requests).to.have.length(2)
  })

  it('on cancel(), ends cancelled: in-flight requests aborted and counted cancelled, unsent records uncounted', async function () {
    const server = await useTarget(() => ({ delayMs: 10_000 }))
    const job = await rig.addJob({ targetPort: server.port, recordLines: recordLines(20), fields: { concurrency: 2 } })
    const run = jobRun(job)
    const ended = run.run()
    await server.waitForRequests(2)

    await run.cancel()
    expect(await ended).to.equal('cancelled')

    const counts = await rig.counts(job.jobId)
    expect(counts).to.include({ count: 2, succeeded: 0, failed: 2 })
    expect(counts.errors).to.deep.equal({ cancelled: 2 })
    expect(server.requests, 'no request started after the cancel').to.have.length(2)
    const done = await rig.outcomeStore.readDoneBits(job.jobId, 0, 3)
    expect(countBits(done), 'only the two aborted records are marked done').to.equal(2)
  })

  it('on drain(graceMs), lets in-flight requests finish, stores their outcomes and ends drained', async function () {
    const server = await useTarget(() => ({ delayMs: 200 }))
    const job = await rig.addJob({ targetPort: server.port, recordLines: recordLines(20), fields: { concurrency: 2 } })
    const run = jobRun(job)
    const ended = run.run()
    await server.waitForRequests(2)

    await run.drain(5000)
    expect(await ended).to.equal('drained')
    expect(await rig.counts(job.jobId)).to.include({ count: 2, succeeded: 2 })
    expect(server.requests).to.have.length(2)
  })

  it('on drain(graceMs) past its grace, tears down with the in-flight records uncounted (sent again on resume)', async function () {
    const server = await useTarget(() => ({ delayMs: 10_000 }))
    const job = await rig.addJob({ targetPort: server.port, recordLines: recordLines(20), fields: { concurrency: 2 } })
    const run = jobRun(job)
    const ended = run.run()
    await server.waitForRequests(2)

    await run.drain(100)
    expect(await ended).to.equal('drained')
    expect(await rig.counts(job.jobId)).to.include({ count: 0 })
  })

  it('rejects with ENOENT when the spool file is missing', async function () {
    const server = await useTarget()
    const job = await rig.addJob({ targetPort: server.port, recordLines: recordLines(3) })
    const run = jobRun(job, { spoolPath: `${job.spoolPath}.missing` })
    await expect(run.run()).to.be.rejected.and.eventually.have.property('code', 'ENOENT')
    expect(server.requests).to.have.length(0)
  })

  it('ends state_lost when the job\'s meta hash is deleted mid-run', async function () {
    const server = await useTarget(() => ({ delayMs: 20 }))
    const job = await rig.addJob({ targetPort: server.port, recordLines: recordLines(200), fields: { concurrency: 2 } })
    const run = jobRun(job, { outcomeBatchSize: 5 })
    const ended = run.run()
    await server.waitForRequests(10)
    await eventually(async () => expect((await rig.counts(job.jobId)).count).to.be.above(0))
    await rig.redis.del(rig.keys.meta(job.jobId))

    expect(await ended).to.equal('state_lost')
    expect(server.requests.length, 'the run stopped sending').to.be.below(200)
  })

  it('fails a record that throws while being built as invalid_record, and completes', async function () {
    const server = await useTarget()
    const lines = recordLines(20)
    lines[5] = '{"id":"\\ud800","payload":"x"}'
    lines[12] = `{"id":"deep","payload":${'['.repeat(100_000)}${']'.repeat(100_000)}}`
    const job = await rig.addJob({ targetPort: server.port, recordLines: lines, fields: { concurrency: 3 } })

    expect(await jobRun(job).run()).to.equal('completed')

    const counts = await rig.counts(job.jobId)
    expect(counts).to.include({ count: 20, succeeded: 18, failed: 2 })
    expect(counts.errors).to.deep.equal({ invalid_record: 2 })
    expect(server.requests).to.have.length(18)
    const batches = await rig.outcomeStore.readResultBatches(job.jobId, 0, 100)
    const failed = batches.flatMap((batch) => batch.split('\n')).filter((line) => line !== '')
      .map((line) => OutcomeStore.resultToJson(line, 'failed')).filter((json) => json !== null)
      .map((json) => JSON.parse(json as string) as { error: string })
    expect(failed.map((result) => result.error)).to.deep.equal(['invalid_record', 'invalid_record'])
  })
})

function countBits (bytes: Buffer): number {
  let total = 0
  for (const byte of bytes) for (let bit = 0; bit < 8; bit++) total += (byte >> bit) & 1
  return total
}
