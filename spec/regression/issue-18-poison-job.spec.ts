// Issue 18, item 1 (second half): a job that crashed the process on resume was resumed at
// every restart and crashed it again, for ever, holding its primarykey (409) for good.
// Now a job under which the process died twice in a row without counting anything new is
// quarantined on the next start: `failed`, `error.code: poison_job`, its files removed.
// The process dying is a SIGKILL here, while every request hangs at the target, so no run
// makes progress: to the store that is exactly a record that kills the process.
// A run that counts something clears the strikes (spec/fault/crash-resume.spec.ts resumes a
// job killed mid-run), and a paused job earns none.
//
// Refs: issue 18 item 1
import { expect } from 'chai'
import { startChronosProcess, type ChronosProcess } from '../helpers/chronos-process.js'
import { useFaultRig } from '../helpers/fault-rig.js'
import { eventually } from '../helpers/ledger.js'
import { buildUpload, makeRecords, uniquePrimaryKey } from '../helpers/ndjson.js'

const CONCURRENCY = 2
// Each restart takes the job over once the killed process's lease has run out: three of the
// default 15 s took 45-50 s of this spec's 60 s. A 5 s lease keeps the same steps.
const LEASE_MS = 5000

describe('issue 18: a job the process dies under on every resume', function () {
  this.timeout(60_000)
  const rig = useFaultRig({ targetDelayMs: 600_000, redis: { appendOnly: true } })

  async function crashWhileSending (chronos: ChronosProcess, requestsSoFar: number): Promise<void> {
    await rig.target.waitForRequests(requestsSoFar + CONCURRENCY, 20_000)
    chronos.kill('SIGKILL')
    await chronos.waitForExit()
  }

  it('is quarantined as failed/poison_job after two resumes that died without progress', async function () {
    const first = await startChronosProcess({ redisUrl: rig.redis.url, env: { CHRONOS_LEASE_MS: String(LEASE_MS) } })
    const primarykey = uniquePrimaryKey()
    const answer = await first.upload(buildUpload(rig.target.port, makeRecords(10), { primarykey, concurrency: CONCURRENCY }))
    expect(answer.status, answer.text).to.equal(202)
    const jobId: string = answer.json.job_id
    await crashWhileSending(first, 0)
    await crashWhileSending(await startChronosProcess(first.options), CONCURRENCY)
    await crashWhileSending(await startChronosProcess(first.options), 2 * CONCURRENCY)

    const last = await startChronosProcess(first.options)
    const status = await last.waitForState(jobId, undefined, 20_000)
    expect(status.state).to.equal('failed')
    expect(status.error?.code).to.equal('poison_job')
    expect(rig.target.requests, 'the quarantined job sent nothing more').to.have.length(3 * CONCURRENCY)
    await eventually(async () => expect(await last.spoolFiles()).to.deep.equal([]))
    // Its primarykey is free again.
    const again = await last.upload(buildUpload(rig.target.port, makeRecords(1), { primarykey }))
    expect(again.status, again.text).to.equal(202)
  })
})
