// Issue 18 item 5: pause let rate-limited requests through. With `rate_limit: 2`, the starts
// the rate limiter was holding (each already holding a sender slot) still started up to
// 4.8 s after `200 paused`; and a cancel started them with an aborted signal, so records
// that were never sent were counted as failed `cancelled` instead of `unsent`.
// Now nothing starts after the pause answer, and a cancel counts only the attempts that
// were really in flight as `cancelled`.
// Refs: issue 18 item 5
import { setTimeout as sleep } from 'node:timers/promises'
import { performance } from 'node:perf_hooks'
import { expect } from 'chai'
import { useChronosAndTarget, type Chronos } from '../helpers/chronos.js'
import type { Target } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'

describe('issue 18 item 5: pause and cancel with rate_limit', function () {
  this.timeout(30_000)
  let chronos: Chronos
  let target: Target
  useChronosAndTarget((started, listening) => { chronos = started; target = listening })

  it('starts no request after the pause answer; a cancel then counts the rest as unsent, not cancelled', async function () {
    const total = 20
    const upload = await chronos.upload(buildUpload(target.port, makeRecords(total), { rate_limit: 2, concurrency: 8 }))
    expect(upload.status, upload.text).to.equal(202)
    const jobId: string = upload.json.job_id
    // The first second's two requests went out; the limiter now holds the next six starts.
    await target.waitForRequests(2, 10_000)
    await sleep(200)

    const paused = await chronos.post(`/jobs/${jobId}/pause`)
    const answeredAt = performance.now()
    expect(paused.status, paused.text).to.equal(200)
    expect(paused.json.state).to.equal('paused')
    // The limiter held starts for up to 3 s ahead: wait past all of them.
    await sleep(4000)
    const late = target.requests.filter((req) => req.arrivedAt > answeredAt)
    expect(late.map((req) => req.recordId), 'requests that arrived after the pause answer').to.deep.equal([])
    const sentWhilePaused = target.requests.length

    const cancelled = await chronos.del(`/jobs/${jobId}`)
    expect(cancelled.status, cancelled.text).to.equal(200)
    const status = await chronos.waitForState(jobId, ['cancelled'])
    // A fast target: nothing was in flight at the cancel, so nothing is counted cancelled.
    expect(status.errors.cancelled ?? 0, JSON.stringify(status)).to.equal(0)
    expect(status).to.include({ state: 'cancelled', total, count: sentWhilePaused, succeeded: sentWhilePaused })
    expect(status.unsent).to.equal(total - sentWhilePaused)
    expect(status.unsent).to.be.above(0)
    await sleep(500)
    expect(target.requests).to.have.length(sentWhilePaused)
  })

  it('counts the starts the limiter held at a cancel as unsent, never as cancelled', async function () {
    const total = 20
    const upload = await chronos.upload(buildUpload(target.port, makeRecords(total), { rate_limit: 2, concurrency: 8 }))
    const jobId: string = upload.json.job_id
    await target.waitForRequests(2, 10_000)
    await sleep(200)
    const cancelled = await chronos.del(`/jobs/${jobId}`)
    const answeredAt = performance.now()
    expect(cancelled.status, cancelled.text).to.equal(200)
    const status = await chronos.waitForState(jobId, ['cancelled'])
    expect(status.errors.cancelled ?? 0, JSON.stringify(status)).to.equal(0)
    expect(status).to.include({ count: 2, succeeded: 2, unsent: total - 2 })
    await sleep(1500)
    expect(target.requests.filter((req) => req.arrivedAt > answeredAt)).to.have.length(0)
  })

  it('resumes the held starts through the limiter and delivers every record once', async function () {
    const total = 6
    const upload = await chronos.upload(buildUpload(target.port, makeRecords(total), { rate_limit: 2, concurrency: 8 }))
    const jobId: string = upload.json.job_id
    await target.waitForRequests(2, 10_000)
    expect((await chronos.post(`/jobs/${jobId}/pause`)).status).to.equal(200)
    await sleep(1500)
    expect(target.requests).to.have.length(2)
    expect((await chronos.post(`/jobs/${jobId}/resume`)).status).to.equal(200)
    const status = await chronos.waitForState(jobId, undefined, 15_000)
    expect(status).to.include({ state: 'completed', count: total, succeeded: total })
    expect(new Set(target.requests.map((req) => req.recordId)).size).to.equal(total)
    const starts = target.requests.map((req) => req.arrivedAt)
    for (let i = 0; i + 2 < starts.length; i++) {
      expect((starts[i + 2] as number) - (starts[i] as number), `requests ${i}..${i + 2}`).to.be.at.least(950)
    }
  })
})
