import { createHmac } from 'node:crypto'
import { expect } from 'chai'
import { startChronos, type Chronos } from '../helpers/chronos.js'
import { startTarget, type Target } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'
import { readEvents, type SseEvent } from '../helpers/sse.js'

describe('GET /jobs/:id/events', function () {
  let chronos: Chronos
  let target: Target

  beforeEach(async function () {
    target = await startTarget(() => ({ delayMs: 100 }))
    chronos = await startChronos()
  })

  afterEach(async function () {
    await chronos.cleanup()
    await target.close()
  })

  it('streams state changes, progress about once a second, and a final event, then closes', async function () {
    this.timeout(30_000)
    const { json } = await chronos.upload(buildUpload(target.port, makeRecords(60), { concurrency: 2 }))
    const events = await readEvents(`${chronos.url}/jobs/${json.job_id}/events`)
    const kinds = events.map((e) => e.event)
    expect(kinds.at(-1)).to.equal('final')
    expect(events.at(-1)?.data).to.include({ state: 'completed', count: 60, total: 60 })
    expect(events.filter((e) => e.event === 'state').map((e) => e.data.state)).to.deep.equal(['queued', 'running', 'completed'])
    const progress = events.filter((e) => e.event === 'progress')
    expect(progress.length).to.be.at.least(2)
    const counts = progress.map((e) => e.data.count)
    expect([...counts].sort((a, b) => a - b)).to.deep.equal(counts)
  })

  it('resumes after Last-Event-ID without missing a state change', async function () {
    this.timeout(30_000)
    const { json } = await chronos.upload(buildUpload(target.port, makeRecords(40), { concurrency: 2 }))
    const firstPart = await readEvents(`${chronos.url}/jobs/${json.job_id}/events`, {}, (events) => events.some((e) => e.event === 'progress'))
    const last = firstPart.at(-1) as SseEvent
    const rest = await readEvents(`${chronos.url}/jobs/${json.job_id}/events`, { 'last-event-id': last.id })
    const seen = [...firstPart, ...rest].filter((e) => e.event === 'state').map((e) => e.data.state)
    expect(seen).to.deep.equal(['queued', 'running', 'completed'])
    expect(rest.at(-1)?.event).to.equal('final')
  })

  it('answers 404 for an unknown job', async function () {
    const answer = await chronos.get('/jobs/job-00000000-0000-4000-8000-000000000000/events')
    expect(answer.status).to.equal(404)
  })
})

describe('callback_url', function () {
  let chronos: Chronos
  let target: Target
  let receiver: Target

  afterEach(async function () {
    await chronos.cleanup()
    await target.close()
    await receiver.close()
  })

  it('receives the final status object once, signed the Standard Webhooks way', async function () {
    const secret = 'whsec_' + Buffer.from('a-test-secret-of-some-length').toString('base64')
    target = await startTarget()
    receiver = await startTarget((req, attempt) => attempt === 1 ? { status: 503 } : { status: 204 })
    chronos = await startChronos({ CHRONOS_CALLBACK_SECRET: secret })
    const { json } = await chronos.upload(buildUpload(target.port, makeRecords(5), { callback_url: `${receiver.url}hooks/done` }))
    const [, delivered] = await receiver.waitForRequests(2, 10_000)
    const body = JSON.parse(delivered?.body ?? '')
    expect(body).to.include({ job_id: json.job_id, state: 'completed', count: 5, succeeded: 5 })
    expect(delivered?.url).to.equal('/hooks/done')
    const headers = delivered?.headers ?? {}
    const expected = createHmac('sha256', Buffer.from('a-test-secret-of-some-length'))
      .update(`${headers['webhook-id'] as string}.${headers['webhook-timestamp'] as string}.${delivered?.body ?? ''}`)
      .digest('base64')
    expect(headers['webhook-signature']).to.equal(`v1,${expected}`)
    expect(Math.abs(Number(headers['webhook-timestamp']) - Date.now() / 1000)).to.be.below(60)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(receiver.requests).to.have.length(2)
  })

  it('is sent for a job cancelled while it was still queued', async function () {
    target = await startTarget(() => ({ delayMs: 2000 }))
    receiver = await startTarget()
    chronos = await startChronos({ CHRONOS_MAX_ACTIVE_JOBS: '1' })
    const busy = await chronos.upload(buildUpload(target.port, makeRecords(1)))
    const queued = await chronos.upload(buildUpload(target.port, makeRecords(3), { callback_url: receiver.url }))
    expect((await chronos.get(`/status?key=${queued.json.job_id as string}`)).json.state).to.equal('queued')
    const cancel = await chronos.del(`/jobs/${queued.json.job_id as string}`)
    expect(cancel.json).to.include({ state: 'cancelled', unsent: 3 })
    const [delivered] = await receiver.waitForRequests(1, 5000)
    expect(JSON.parse(delivered?.body ?? '')).to.include({ job_id: queued.json.job_id, state: 'cancelled', count: 0 })
    await chronos.waitForState(busy.json.job_id)
  })

  it('refuses a callback_url the target policy forbids', async function () {
    target = await startTarget()
    receiver = await startTarget()
    chronos = await startChronos()
    const answer = await chronos.upload(buildUpload(target.port, makeRecords(1), { callback_url: 'http://169.254.169.254/latest' }))
    expect(answer.status).to.equal(403)
    expect(answer.json.error.code).to.equal('target_forbidden')
  })
})
