import { expect } from 'chai'
import { startChronos, type Chronos } from '../helpers/chronos.js'
import { startTarget, type Target } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'
import { eventually } from '../helpers/ledger.js'

describe('POST /jobs/:id/retry-failed', function () {
  let chronos: Chronos
  let target: Target
  let isHealed = false

  beforeEach(async function () {
    isHealed = false
    // Records with an even id fail (400, not retried) until the target is "healed".
    target = await startTarget((req) => !isHealed && Number(req.recordId) % 2 === 0 ? { status: 400, body: 'bad' } : undefined)
    chronos = await startChronos()
  })

  afterEach(async function () {
    await chronos.cleanup()
    await target.close()
  })

  it('starts a linked job that sends only the failed records again', async function () {
    const { json } = await chronos.upload(buildUpload(target.port, makeRecords(10)))
    const parent = await chronos.waitForState(json.job_id)
    expect(parent).to.include({ succeeded: 5, failed: 5 })
    // The state is written before the spool file and receipt go: wait for them.
    await eventually(async () => expect(await chronos.spoolFiles()).to.deep.equal([`${json.job_id as string}.failed.ndjson`]))

    isHealed = true
    const before = target.requests.length
    const answer = await chronos.post(`/jobs/${json.job_id as string}/retry-failed`)
    expect(answer.status).to.equal(202)
    expect(answer.json).to.include({ parent_job_id: json.job_id, records: 5, primarykey: parent.primarykey })
    const child = await chronos.waitForState(answer.json.job_id)
    expect(child).to.include({ state: 'completed', total: 5, count: 5, succeeded: 5, parent_job_id: json.job_id })
    const resent = target.requests.slice(before).map((req) => Number(req.recordId)).sort((a, b) => a - b)
    expect(resent).to.deep.equal([2, 4, 6, 8, 10])
    const keys = target.requests.slice(before).map((req) => req.idempotencyKey)
    expect(keys.every((key) => key?.startsWith(`${answer.json.job_id as string}:`))).to.equal(true)
  })

  it('answers 409 invalid_state for a job without failures', async function () {
    isHealed = true
    const { json } = await chronos.upload(buildUpload(target.port, makeRecords(3)))
    await chronos.waitForState(json.job_id)
    const answer = await chronos.post(`/jobs/${json.job_id as string}/retry-failed`)
    expect(answer.status).to.equal(409)
    expect(answer.json.error.code).to.equal('invalid_state')
  })

  it('answers 404 for an unknown job', async function () {
    const answer = await chronos.post('/jobs/job-00000000-0000-4000-8000-000000000000/retry-failed')
    expect(answer.status).to.equal(404)
  })
})
