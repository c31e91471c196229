// GET /jobs/:id/failed-records (DESIGN §9, issue 14): the failed records of a finished job as a
// file the user can fix and upload again: line 1 the job's config in wire form, then each
// failed record exactly as uploaded. Visible only to the key that made the job.
import { unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { startChronos, type Chronos } from '../helpers/chronos.js'
import { startTarget, type Target } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'

const KEY_ONE = 'failed-records-key-one-0123456789'
const KEY_TWO = 'failed-records-key-two-0123456789'
const one = { authorization: `Bearer ${KEY_ONE}` }
const two = { authorization: `Bearer ${KEY_TWO}` }

describe('GET /jobs/:id/failed-records', function () {
  let chronos: Chronos
  let target: Target

  before(async function () {
    // Records with an even id fail (400, not retried); record 99 is slow, to hold a job running.
    target = await startTarget((req) => req.recordId === '99' ? { delayMs: 3000 } : Number(req.recordId) % 2 === 0 ? { status: 400, body: 'bad' } : undefined)
    chronos = await startChronos({ CHRONOS_API_KEYS: `${KEY_ONE},${KEY_TWO}` })
  })

  after(async function () {
    await chronos.cleanup()
    await target.close()
  })

  async function finishedJob (records: number): Promise<{ jobId: string, upload: string }> {
    const upload = buildUpload(target.port, makeRecords(records), { max_attempts: 1 })
    const answer = await chronos.upload(upload, one)
    expect(answer.status, answer.text).to.equal(202)
    const jobId = answer.json.job_id as string
    await chronos.waitForState(jobId, undefined, undefined, one)
    return { jobId, upload }
  }

  it('streams a valid upload: the config in wire form, then the failed records as uploaded', async function () {
    const { jobId, upload } = await finishedJob(7)
    const answer = await chronos.get(`/jobs/${jobId}/failed-records`, one)
    expect(answer.status, answer.text).to.equal(200)
    expect(answer.headers.get('content-type')).to.match(/^application\/x-ndjson/)
    const sent = upload.trim().split('\n')
    const lines = answer.text.split('\n')
    expect(lines.pop()).to.equal('')
    expect(JSON.parse(lines[0] as string)).to.deep.include({ ...JSON.parse(sent[0] as string), max_attempts: 1 })
    expect(lines.slice(1)).to.deep.equal([sent[2], sent[4], sent[6]])
    // It is an upload Chronos takes back once the first job is over.
    const again = await chronos.upload(answer.text, one)
    expect(again.status, again.text).to.equal(202)
    expect(again.json.records).to.equal(3)
  })

  it('answers 404 not_found to another key, as for an unknown job', async function () {
    const { jobId } = await finishedJob(2)
    const other = await chronos.get(`/jobs/${jobId}/failed-records`, two)
    expect(other.status).to.equal(404)
    expect(other.json.error.code).to.equal('not_found')
    const unknown = await chronos.get('/jobs/job-00000000-0000-4000-8000-000000000000/failed-records', one)
    expect(unknown.status).to.equal(404)
  })

  it('answers 409 invalid_state for a job without failures', async function () {
    const { jobId } = await finishedJob(1)
    const answer = await chronos.get(`/jobs/${jobId}/failed-records`, one)
    expect(answer.status).to.equal(409)
    expect(answer.json.error.code).to.equal('invalid_state')
    expect(answer.json.error.message).to.match(/no failed records/)
  })

  it('answers 409 invalid_state while the job runs', async function () {
    const upload = buildUpload(target.port, [{ id: 99, payload: 'slow' }])
    const { json } = await chronos.upload(upload, one)
    await chronos.waitForState(json.job_id, ['running'], undefined, one)
    const answer = await chronos.get(`/jobs/${json.job_id as string}/failed-records`, one)
    expect(answer.status).to.equal(409)
    expect(answer.json.error.code).to.equal('invalid_state')
    expect(answer.json.error.message).to.match(/running/)
    await chronos.del(`/jobs/${json.job_id as string}`, one)
  })

  it('answers 404 not_found, saying so, once the file is no longer kept', async function () {
    const { jobId } = await finishedJob(2)
    await unlink(join(chronos.spoolDir, `${jobId}.failed.ndjson`))
    const answer = await chronos.get(`/jobs/${jobId}/failed-records`, one)
    expect(answer.status).to.equal(404)
    expect(answer.json.error.code).to.equal('not_found')
    expect(answer.json.error.message).to.match(/no longer kept/)
  })
})
