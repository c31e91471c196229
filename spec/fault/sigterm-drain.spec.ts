// DESIGN §4 and issue 4: SIGTERM mid-job stops taking uploads, lets in-flight requests finish
// within CHRONOS_SHUTDOWN_GRACE_MS, flushes their outcomes and exits 0; the next start
// finishes the job with exact counts and sends nothing twice.
//
// Mechanisms under test:
//   - lib/main.ts: SIGTERM → service.stop() → process.exit(0);
//   - lib/service.ts stop(): isAcceptingUploads off (lib/upload/accept-upload.ts answers 503
//     shutting_down) and the listener closed;
//   - lib/deps.ts closeDeps() → lib/runner/job-runner.ts close(graceMs) → lib/runner/run-job.ts
//     drain(): sender.stopIntake() (lib/pipeline/sender.ts) lets in-flight attempts finish,
//     the status sink (lib/pipeline/status-sink.ts) flushes them in _final; the job is left
//     `running` in Redis, its spool file kept;
//   - on restart, resume from the done bitmap (lib/pipeline/record-batches.ts).
import { expect } from 'chai'
import { startChronosProcess } from '../helpers/chronos-process.js'
import { useFaultRig } from '../helpers/fault-rig.js'
import { eventually, expectEndedJobKeys, expectEveryIdDelivered, summarize } from '../helpers/ledger.js'
import { buildUpload, makeRecords, uniquePrimaryKey } from '../helpers/ndjson.js'
import { startTarget } from '../helpers/target.js'

const TOTAL = 400
const CONCURRENCY = 16
/** Long enough that every SIGTERM lands with a full set of requests in flight at the target. */
const TARGET_DELAY_MS = 150

describe('SIGTERM mid-job', function () {
  this.timeout(60_000)
  const rig = useFaultRig({ targetDelayMs: TARGET_DELAY_MS, redis: { appendOnly: true } })

  it('refuses new uploads, finishes in-flight requests, flushes, exits 0; a restart completes the job with exact counts', async function () {
    const first = await startChronosProcess({ redisUrl: rig.redis.url, env: { CHRONOS_SHUTDOWN_GRACE_MS: '10000' } })
    const primarykey = uniquePrimaryKey()
    const answer = await first.upload(buildUpload(rig.target.port, makeRecords(TOTAL), { primarykey, concurrency: CONCURRENCY }))
    expect(answer.status, answer.text).to.equal(202)
    const jobId: string = answer.json.job_id
    await rig.target.waitForRequests(100, 30_000)

    first.kill('SIGTERM')
    // A signal is handled on the child's event loop: an upload sent before that is still
    // accepted (and, queued, resumed by the next start). So wait until it has been handled.
    await first.waitForLog((line) => line.msg === 'shutting down' && line.signal === 'SIGTERM')
    // Best effort: the server may already have closed its listener (connection refused) or
    // still take the request and answer 503; it must never accept the upload.
    const latePrimaryKey = uniquePrimaryKey()
    let lateAnswer: string
    try {
      const late = await first.upload(buildUpload(rig.target.port, makeRecords(5), { primarykey: latePrimaryKey }))
      lateAnswer = `${late.status} ${late.json?.error?.code as string}`
      expect(late.status, late.text).to.equal(503)
    } catch (err) {
      if ((err as { name?: string }).name === 'AssertionError') throw err
      lateAnswer = `refused: ${String((err as { cause?: unknown }).cause ?? err)}`
    }
    expect(lateAnswer).to.not.match(/^202/)

    expect(await first.waitForExit(30_000), `exit code${first.tail()}`).to.equal(0)
    expect(first.logs.some((line) => line.msg === 'shutdown complete'), 'logged "shutdown complete"').to.equal(true)

    // Every request the target saw was answered and its outcome stored before exit: an
    // aborted request would have no outcome (or a `cancelled` one) and be sent again below.
    const seenAtExit = summarize(rig.target.requests)
    expect(seenAtExit.duplicates).to.equal(0)
    const counts = await rig.admin.hgetall(`${first.prefix}:job:{${jobId}}:counts`)
    expect(Number(counts.count), 'outcomes stored at exit vs requests the target saw').to.equal(seenAtExit.byId.size)
    expect(Number(counts.failed)).to.equal(0)
    expect(Object.keys(counts).filter((field) => field.startsWith('e:'))).to.deep.equal([])
    expect(Number(counts.count)).to.be.below(TOTAL)
    expect(await rig.admin.hget(`${first.prefix}:job:{${jobId}}:meta`, 'state')).to.equal('running')
    expect((await first.spoolFiles()).sort()).to.deep.equal([`${jobId}.ndjson`, `${jobId}.receipt.json`])

    const second = await startChronosProcess(first.options)
    const status = await second.waitForState(jobId, undefined, 60_000)
    expect(status).to.include({ state: 'completed', total: TOTAL, count: TOTAL, succeeded: TOTAL, failed: 0, pending: 0 })
    const ledger = expectEveryIdDelivered(rig.target.requests, jobId, TOTAL)
    // A drained job has nothing in flight and nothing unflushed: the resume sends no record twice.
    expect(ledger.duplicates, 're-sends after a drain').to.equal(0)
    expect((await second.get(`/status?key=${latePrimaryKey}`)).status, `the late upload (${lateAnswer}) left a job`).to.equal(404)
    await eventually(async () => expect(await second.spoolFiles()).to.deep.equal([]))
    await expectEndedJobKeys(rig.redis.url, first.prefix, jobId, primarykey)
  })

  describe('when in-flight requests outlast CHRONOS_SHUTDOWN_GRACE_MS', function () {
    // Records aborted at the end of the grace period have no outcome yet: they are sent again
    // by the next start (at-least-once), never recorded as failed or cancelled.
    for (const graceMs of [0, 1000]) {
      it(`exits 0 and a restart re-sends the aborted records, counts exact (grace ${graceMs} ms)`, async function () {
        const total = 100
        let isSlow = true
        await rig.target.close()
        // Slow while the first process runs; fast once it is gone.
        rig.target = await startTarget(() => ({ delayMs: isSlow ? 20_000 : 5 }))
        const first = await startChronosProcess({ redisUrl: rig.redis.url, env: { CHRONOS_SHUTDOWN_GRACE_MS: String(graceMs) } })
        const primarykey = uniquePrimaryKey()
        const answer = await first.upload(buildUpload(rig.target.port, makeRecords(total), { primarykey, concurrency: 8 }))
        expect(answer.status, answer.text).to.equal(202)
        const jobId: string = answer.json.job_id
        await rig.target.waitForRequests(8, 30_000)

        first.kill('SIGTERM')
        expect(await first.waitForExit(30_000), `exit code${first.tail()}`).to.equal(0)
        isSlow = false
        const counts = await rig.admin.hgetall(`${first.prefix}:job:{${jobId}}:counts`)
        // The 8 requests were in flight at exit: none may have an outcome (not even `cancelled`),
        // or the resume would skip them and they would never be delivered.
        const stored = { count: counts.count, failed: counts.failed, cancelled: counts['e:cancelled'] ?? '0' }
        expect(stored, 'outcomes stored for the aborted in-flight requests').to.deep.equal({ count: '0', failed: '0', cancelled: '0' })

        const second = await startChronosProcess(first.options)
        const status = await second.waitForState(jobId, undefined, 60_000)
        expect(status).to.include({ state: 'completed', total, count: total, succeeded: total, failed: 0 })
        expect(status.errors).to.deep.equal({})
        const ledger = expectEveryIdDelivered(rig.target.requests, jobId, total)
        expect(ledger.duplicates, 're-sends of the aborted in-flight records').to.equal(8)
        await eventually(async () => expect(await second.spoolFiles()).to.deep.equal([]))
        await expectEndedJobKeys(rig.redis.url, first.prefix, jobId, primarykey)
      })
    }
  })
})
