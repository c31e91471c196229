// Issue 18, items 1 and 2: one record could crash the process, and then every restart.
// An id holding a lone surrogate made encodeURIComponent throw a URIError when the record was
// sent; a payload nested ~100,000 arrays deep made JSON.stringify throw a RangeError. Nothing
// caught either: the process exited, resumed the job on restart and died again, for ever.
// Later in a job, the same record ended the job `failed/job_error` with count 0 although 50
// records had been delivered.
//
// The upload now refuses such records, but a job accepted before that (or any record that
// still throws while being sent) must fail on its own: here the job is put straight into the
// spool dir, as an earlier version accepted it, and a real Chronos process resumes it.
//
// Refs: issue 18 items 1 and 2
import { expect } from 'chai'
import { startChronosProcess } from '../helpers/chronos-process.js'
import { useFaultRig } from '../helpers/fault-rig.js'
import { eventually } from '../helpers/ledger.js'
import { makeRecords } from '../helpers/ndjson.js'
import { spoolJob } from '../helpers/spooled-job.js'
import { uniquePrefix } from '../helpers/redis.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const TOTAL = 120
const LONE_SURROGATE_AT = 50
const DEEP_PAYLOAD_AT = 80

describe('issue 18: a record that throws while being sent', function () {
  this.timeout(60_000)
  const rig = useFaultRig({ targetDelayMs: 0, redis: {} })
  let spoolDir: string

  beforeEach(async function () {
    spoolDir = await mkdtemp(join(tmpdir(), 'chronos-spool-'))
  })

  afterEach(async function () {
    await rm(spoolDir, { recursive: true, force: true })
  })

  it('fails that record as invalid_record; the job completes with every other record delivered and counted', async function () {
    const lines = makeRecords(TOTAL).map((record) => JSON.stringify(record))
    lines[LONE_SURROGATE_AT] = '{"id":"\\ud800","payload":"b"}'
    lines[DEEP_PAYLOAD_AT] = `{"id":"deep","payload":${'['.repeat(100_000)}${']'.repeat(100_000)}}`
    const options = { redisUrl: rig.redis.url, prefix: uniquePrefix(), spoolDir, instanceId: 'poison-test' }
    const job = await spoolJob({ ...options, targetPort: rig.target.port, recordLines: lines, fields: { concurrency: 4 } })

    const chronos = await startChronosProcess({ ...options, env: { CHRONOS_MAX_LINE_BYTES: '1048576' } })
    const status = await chronos.waitForState(job.jobId, undefined, 30_000)
    expect(chronos.isRunning, `the process is alive${chronos.tail()}`).to.equal(true)
    expect(status).to.include({ state: 'completed', total: TOTAL, count: TOTAL, succeeded: TOTAL - 2, failed: 2 })
    expect(status.errors).to.deep.equal({ invalid_record: 2 })
    expect(rig.target.requests).to.have.length(TOTAL - 2)
    const failed = await chronos.request('GET', `/jobs/${job.jobId}/results?outcome=failed`)
    const failedIndexes = failed.text.trim().split('\n').map((line) => JSON.parse(line))
    expect(failedIndexes.map((line) => line.error)).to.deep.equal(['invalid_record', 'invalid_record'])
    await eventually(async () => expect(await chronos.spoolFiles()).to.deep.equal([`${job.jobId}.failed.ndjson`]))
  })
})
