// Jobs as resources (DESIGN §3, issue 3): GET /jobs, GET /jobs/:id, DELETE /jobs/:id (cancel),
// POST /jobs/:id/pause and /resume, GET /jobs/:id/results (NDJSON, filter, cursor).
// "Nothing is sent afterwards" is checked on the target's own request log: its length when
// the answer arrives, compared with its length a second later.
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { expectError as expectSharedError, resultsPage, startChronos, type Chronos, type HttpAnswer, type ResultLine } from '../helpers/chronos.js'
import { startTarget, type Target, type TargetScript } from '../helpers/target.js'
import { buildUpload, makeRecords, type RecordLine, type SpecFields } from '../helpers/ndjson.js'

const UNKNOWN_JOB = 'job-00000000-0000-4000-8000-000000000000'

describe('jobs API', function () {
  let chronos: Chronos
  let target: Target | undefined

  beforeEach(async function () {
    target = undefined
    chronos = await startChronos()
  })

  afterEach(async function () {
    await chronos.cleanup()
    await target?.close()
  })

  async function useTarget (script?: TargetScript): Promise<Target> {
    await target?.close()
    target = await startTarget(script)
    return target
  }

  async function submit (records: RecordLine[], fields: SpecFields = {}): Promise<string> {
    const answer = await chronos.upload(buildUpload((target as Target).port, records, fields))
    expect(answer.status, answer.text).to.equal(202)
    return answer.json.job_id
  }

  async function results (jobId: string, query = ''): Promise<{ lines: ResultLine[], nextCursor: string | null }> {
    const { lines, answer } = await resultsPage(chronos, jobId, query)
    expect(answer.headers.get('content-type')).to.match(/^application\/x-ndjson/)
    return { lines, nextCursor: answer.headers.get('x-next-cursor') }
  }

  /** Polls the status until `check` holds. */
  async function waitForStatus (jobId: string, check: (status: Record<string, any>) => boolean, timeoutMs = 10_000): Promise<Record<string, any>> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const answer = await chronos.get(`/jobs/${jobId}`)
      if (answer.status === 200 && check(answer.json)) return answer.json
      if (Date.now() > deadline) throw new Error(`status of ${jobId} never matched: ${answer.text}`)
      await sleep(25)
    }
  }

  /** The shared check, plus: every error here also carries a message. */
  function expectError (answer: HttpAnswer, status: number, code: string): void {
    expectSharedError(answer, status, code)
    expect(answer.json.error.message).to.be.a('string')
  }

  describe('GET /jobs', function () {
    it('lists jobs newest first, paginated by limit and offset with next_offset', async function () {
      await useTarget()
      const ids: string[] = []
      for (let n = 0; n < 3; n++) {
        ids.push(await submit(makeRecords(2)))
        await sleep(15) // distinct submitted_at milliseconds
      }
      for (const id of ids) await chronos.waitForState(id)
      const newestFirst = [...ids].reverse()

      const first = await chronos.get('/jobs?limit=2')
      expect(first.status).to.equal(200)
      expect(first.json.jobs.map((job: { job_id: string }) => job.job_id)).to.deep.equal(newestFirst.slice(0, 2))
      expect(first.json.next_offset).to.equal(2)
      const second = await chronos.get(`/jobs?limit=2&offset=${String(first.json.next_offset)}`)
      expect(second.status).to.equal(200)
      expect(second.json.jobs.map((job: { job_id: string }) => job.job_id)).to.deep.equal(newestFirst.slice(2))
      expect(second.json.next_offset).to.equal(null)

      // Each entry is the job's status object.
      const byId = await chronos.get(`/jobs/${newestFirst[0] as string}`)
      expect(first.json.jobs[0]).to.deep.equal(byId.json)
    })

    it('walks every job exactly once by following next_offset', async function () {
      await useTarget()
      const ids: string[] = []
      for (let n = 0; n < 5; n++) {
        ids.push(await submit(makeRecords(1)))
        await sleep(15)
      }
      for (const id of ids) await chronos.waitForState(id)
      const seen: string[] = []
      let offset: number | null = 0
      for (let page = 0; offset !== null && page < 10; page++) {
        const answer = await chronos.get(`/jobs?limit=2&offset=${offset}`)
        expect(answer.status).to.equal(200)
        seen.push(...answer.json.jobs.map((job: { job_id: string }) => job.job_id))
        offset = answer.json.next_offset
      }
      expect(offset).to.equal(null)
      expect(seen).to.deep.equal([...ids].reverse())
    })

    it('answers an empty list without jobs', async function () {
      const answer = await chronos.get('/jobs')
      expect(answer.status).to.equal(200)
      expect(answer.json).to.deep.equal({ jobs: [], next_cursor: null, next_offset: null })
    })

    it('walks every job exactly once by following next_cursor, and a cursor survives newer jobs', async function () {
      await useTarget()
      const ids: string[] = []
      for (let n = 0; n < 5; n++) ids.push(await submit(makeRecords(1)))
      const seen: string[] = []
      let cursor: string | null = null
      for (let page = 0; page < 10; page++) {
        const answer = await chronos.get(`/jobs?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`)
        expect(answer.status, answer.text).to.equal(200)
        seen.push(...answer.json.jobs.map((job: { job_id: string }) => job.job_id))
        cursor = answer.json.next_cursor
        if (cursor === null) break
        if (page === 0) await submit(makeRecords(1)) // a newer job shifts no position after the cursor
      }
      expect(seen).to.deep.equal([...ids].reverse())
    })

    it('filters by state and by primarykey', async function () {
      let isHolding = false
      let release = (): void => {}
      const gate = new Promise<void>((resolve) => { release = resolve })
      await useTarget(async () => {
        if (isHolding) await gate
        return undefined
      })
      const done = await submit(makeRecords(1), { primarykey: 'filter-done' })
      await chronos.waitForState(done)
      isHolding = true
      const running = await submit(makeRecords(1), { primarykey: 'filter-running' })
      await chronos.waitForState(running, ['running'])
      const byState = await chronos.get('/jobs?state=running')
      expect(byState.json.jobs.map((job: { job_id: string }) => job.job_id)).to.deep.equal([running])
      const byKey = await chronos.get('/jobs?primarykey=filter-done')
      expect(byKey.json.jobs.map((job: { job_id: string }) => job.job_id)).to.deep.equal([done])
      const both = await chronos.get('/jobs?primarykey=filter-done&state=running')
      expect(both.json).to.deep.equal({ jobs: [], next_cursor: null, next_offset: null })
      release()
    })

    for (const query of ['limit=0', 'limit=abc', 'limit=1.5', 'offset=-1', 'offset=x', 'state=done', 'state=', 'state=running&state=paused', 'primarykey=', 'cursor=abc', 'cursor=']) {
      it(`answers 400 invalid_request for ${query}`, async function () {
        expectError(await chronos.get(`/jobs?${query}`), 400, 'invalid_request')
      })
    }
  })

  describe('GET /jobs/:id and GET /status', function () {
    it('answers the same status object as /status', async function () {
      await useTarget()
      const jobId = await submit(makeRecords(3))
      const status = await chronos.waitForState(jobId)
      const byId = await chronos.get(`/jobs/${jobId}`)
      expect(byId.status).to.equal(200)
      expect(byId.json).to.deep.equal(status)
      expect(byId.json).to.include({ job_id: jobId, state: 'completed', total: 3, count: 3, succeeded: 3 })
    })

    it('answers 404 not_found for an unknown job', async function () {
      expectError(await chronos.get(`/jobs/${UNKNOWN_JOB}`), 404, 'not_found')
      expectError(await chronos.get('/jobs/no-such-job'), 404, 'not_found')
      expectError(await chronos.get(`/status?key=${UNKNOWN_JOB}`), 404, 'not_found')
      expectError(await chronos.get(`/jobs/${UNKNOWN_JOB}/results`), 404, 'not_found')
      expectError(await chronos.del(`/jobs/${UNKNOWN_JOB}`), 404, 'not_found')
      expectError(await chronos.post(`/jobs/${UNKNOWN_JOB}/pause`), 404, 'not_found')
      expectError(await chronos.post(`/jobs/${UNKNOWN_JOB}/resume`), 404, 'not_found')
    })

    it('answers 400 invalid_request for /status without a key', async function () {
      expectError(await chronos.get('/status'), 400, 'invalid_request')
      expectError(await chronos.get('/status?key='), 400, 'invalid_request')
    })
  })

  describe('DELETE /jobs/:id', function () {
    it('cancels a job with requests in flight: nothing is sent after the answer', async function () {
      this.timeout(30_000)
      await useTarget(() => ({ delayMs: 500 }))
      const tgt = target as Target
      const total = 200
      const jobId = await submit(makeRecords(total), { concurrency: 4 })
      await tgt.waitForRequests(8, 10_000)

      const answer = await chronos.del(`/jobs/${jobId}`)
      const sentAtAnswer = tgt.requests.length
      expect(answer.status, answer.text).to.equal(200)
      expect(answer.json).to.include({ job_id: jobId, state: 'cancelled', total })
      expect(answer.json.count).to.equal(answer.json.succeeded + answer.json.failed)
      expect(answer.json.unsent).to.equal(total - answer.json.count)
      expect(answer.json.finished_at).to.be.a('string')

      await sleep(1000)
      expect(tgt.requests.length, 'requests sent after the cancel answer').to.equal(sentAtAnswer)
      expect(tgt.inFlight, 'requests still open at the target').to.equal(0)

      const status = (await chronos.get(`/jobs/${jobId}`)).json
      expect(status).to.deep.include({ state: 'cancelled', count: answer.json.count, unsent: total - answer.json.count })
      expect(status.unsent).to.be.above(0)
      expect(status.count).to.equal(status.succeeded + status.failed)

      // The requests that were in flight end as `cancelled`; each record has one result.
      const { lines } = await results(jobId)
      expect(lines).to.have.length(status.count)
      expect(new Set(lines.map((line) => line.id)).size).to.equal(lines.length)
      const cancelled = lines.filter((line) => line.error === 'cancelled')
      expect(cancelled.length).to.be.within(1, 4)
      for (const line of cancelled) expect(line).to.include({ ok: false, status: null })
      expect(status.errors.cancelled).to.equal(cancelled.length)
      expect(status.succeeded).to.equal(lines.filter((line) => line.ok).length)
    })

    it('cancels a paused job and counts its unsent records', async function () {
      this.timeout(20_000)
      await useTarget(() => ({ delayMs: 200 }))
      const total = 50
      const jobId = await submit(makeRecords(total), { concurrency: 2 })
      await (target as Target).waitForRequests(2, 10_000)
      const paused = await chronos.post(`/jobs/${jobId}/pause`)
      expect(paused.status, paused.text).to.equal(200)
      const answer = await chronos.del(`/jobs/${jobId}`)
      expect(answer.status, answer.text).to.equal(200)
      expect(answer.json.state).to.equal('cancelled')
      expect(answer.json.unsent).to.equal(total - answer.json.count)
      expect(answer.json.unsent).to.be.above(0)
    })

    it('answers 409 invalid_state for a completed job, and for a cancelled one', async function () {
      await useTarget()
      const jobId = await submit(makeRecords(2))
      await chronos.waitForState(jobId)
      expectError(await chronos.del(`/jobs/${jobId}`), 409, 'invalid_state')
      expect((await chronos.get(`/jobs/${jobId}`)).json.state).to.equal('completed')

      await useTarget(() => ({ delayMs: 1000 }))
      const slowId = await submit(makeRecords(10), { concurrency: 1 })
      await (target as Target).waitForRequests(1)
      expect((await chronos.del(`/jobs/${slowId}`)).status).to.equal(200)
      expectError(await chronos.del(`/jobs/${slowId}`), 409, 'invalid_state')
    })
  })

  describe('POST /jobs/:id/pause and /resume', function () {
    it('pauses sending while running and resumes to exact counts', async function () {
      this.timeout(30_000)
      await useTarget(() => ({ delayMs: 300 }))
      const tgt = target as Target
      const total = 40
      const jobId = await submit(makeRecords(total), { concurrency: 4 })
      await tgt.waitForRequests(8, 10_000)

      const paused = await chronos.post(`/jobs/${jobId}/pause`)
      expect(paused.status, paused.text).to.equal(200)
      expect(paused.json).to.include({ job_id: jobId, state: 'paused' })
      await sleep(600) // the in-flight requests (300 ms each) finish
      const sentWhenSettled = tgt.requests.length
      await sleep(1000)
      expect(tgt.requests.length, 'requests started while paused').to.equal(sentWhenSettled)
      const whilePaused = (await chronos.get(`/jobs/${jobId}`)).json
      expect(whilePaused.state).to.equal('paused')
      expect(whilePaused.count).to.be.below(total)
      expect(whilePaused.count).to.equal(whilePaused.succeeded + whilePaused.failed)

      const resumed = await chronos.post(`/jobs/${jobId}/resume`)
      expect(resumed.status, resumed.text).to.equal(200)
      expect(resumed.json.state).to.be.oneOf(['running', 'queued'])
      const status = await chronos.waitForState(jobId, undefined, 20_000)
      expect(status).to.include({ state: 'completed', total, count: total, succeeded: total, failed: 0, pending: 0 })
      expect(tgt.requests).to.have.length(total)
      expect(new Set(tgt.requests.map((req) => req.recordId)).size).to.equal(total)
    })

    it('answers 409 invalid_state to pause a completed job and to resume a running one', async function () {
      await useTarget()
      const doneId = await submit(makeRecords(1))
      await chronos.waitForState(doneId)
      expectError(await chronos.post(`/jobs/${doneId}/pause`), 409, 'invalid_state')
      expectError(await chronos.post(`/jobs/${doneId}/resume`), 409, 'invalid_state')

      await useTarget(() => ({ delayMs: 1000 }))
      const runningId = await submit(makeRecords(5), { concurrency: 1 })
      await (target as Target).waitForRequests(1)
      expectError(await chronos.post(`/jobs/${runningId}/resume`), 409, 'invalid_state')
    })
  })

  describe('GET /jobs/:id/results', function () {
    const BIG_BODY = 'x'.repeat(2000)
    const SCRIPT: TargetScript = (req) => {
      switch (req.recordId) {
        case '1': return { status: 200, body: 'fine, thanks' }
        case '2': return { status: 404, body: 'not here' }
        case '3': return { status: 500, body: BIG_BODY }
        case '4': return { status: 400 }
        default: return undefined
      }
    }
    const RECORDS: RecordLine[] = [...makeRecords(4), { id: 'str-5', payload: { n: 5 } }]

    it('streams one NDJSON line per record with its outcome', async function () {
      await useTarget(SCRIPT)
      const jobId = await submit(RECORDS, { max_attempts: 1 })
      await chronos.waitForState(jobId)
      const { lines } = await results(jobId)
      expect(lines).to.have.length(5)
      const byId = new Map(lines.map((line) => [line.id, line]))
      expect([...byId.keys()].sort()).to.deep.equal([1, 2, 3, 4, 'str-5'])
      for (const line of lines) {
        expect(line).to.have.all.keys(line.response === undefined
          ? ['id', 'ok', 'status', 'attempts', 'time_ms', 'error']
          : ['id', 'ok', 'status', 'attempts', 'time_ms', 'error', 'response'])
        expect(line.attempts).to.equal(1)
        expect(line.time_ms).to.be.a('number').and.at.least(0)
      }
      expect(byId.get(1)).to.deep.include({ ok: true, status: 200, error: null })
      expect(byId.get(1)?.response, 'a 2xx body is not kept').to.equal(undefined)
      expect(byId.get('str-5')).to.deep.include({ ok: true, status: 200, error: null })
      expect(byId.get(2)).to.deep.include({ ok: false, status: 404, error: 'http_status', response: 'not here' })
      expect(byId.get(3)).to.deep.include({ ok: false, status: 500, error: 'http_status', response: BIG_BODY.slice(0, 512) })
      expect(byId.get(4)).to.deep.include({ ok: false, status: 400, error: 'http_status' })
      expect(byId.get(4)?.response ?? '').to.equal('')
    })

    it('keeps at most 512 bytes of a multi-byte failed body, cut at a character boundary', async function () {
      const body = '日本語'.repeat(100) // 900 bytes; 512 falls inside a 3-byte character
      await useTarget(() => ({ status: 422, body }))
      const jobId = await submit(makeRecords(1))
      await chronos.waitForState(jobId)
      const { lines } = await results(jobId)
      const response = lines[0]?.response ?? ''
      expect(Buffer.byteLength(response)).to.be.within(510, 512)
      expect(body.startsWith(response), `response ${JSON.stringify(response.slice(-3))} is not a prefix of the body`).to.equal(true)
    })

    it('filters by outcome=failed and outcome=succeeded', async function () {
      await useTarget(SCRIPT)
      const jobId = await submit(RECORDS, { max_attempts: 1 })
      await chronos.waitForState(jobId)
      const failed = await results(jobId, '?outcome=failed')
      expect(failed.lines.map((line) => line.id).sort()).to.deep.equal([2, 3, 4])
      for (const line of failed.lines) expect(line.ok).to.equal(false)
      const succeeded = await results(jobId, '?outcome=succeeded')
      expect(succeeded.lines.map((line) => line.id).sort()).to.deep.equal([1, 'str-5'])
      for (const line of succeeded.lines) expect(line.ok).to.equal(true)
    })

    it('is readable while the job runs and resumes from x-next-cursor without gaps or repeats', async function () {
      this.timeout(30_000)
      await useTarget(() => ({ delayMs: 100 }))
      const total = 40
      const jobId = await submit(makeRecords(total), { concurrency: 2 })
      await waitForStatus(jobId, (status) => status.count >= 10)

      const early = await results(jobId)
      expect(early.lines.length).to.be.within(1, total - 1)
      expect(early.nextCursor).to.match(/^\d+$/)
      expect((await chronos.get(`/jobs/${jobId}`)).json.state).to.equal('running')

      await chronos.waitForState(jobId)
      const rest = await results(jobId, `?cursor=${early.nextCursor as string}`)
      expect(rest.lines.length).to.be.above(0)
      const ids = [...early.lines, ...rest.lines].map((line) => line.id)
      expect(ids).to.have.length(total)
      expect(new Set(ids).size).to.equal(total)
      expect([...ids].sort((a, b) => Number(a) - Number(b))).to.deep.equal(makeRecords(total).map((record) => record.id))

      const nothingNew = await results(jobId, `?cursor=${rest.nextCursor as string}`)
      expect(nothingNew.lines).to.deep.equal([])
      expect(nothingNew.nextCursor).to.equal(rest.nextCursor)
    })

    for (const query of ['outcome=all', 'outcome=', 'cursor=abc', 'cursor=-1', 'cursor=1.5', 'cursor=']) {
      it(`answers 400 invalid_request for ${query}`, async function () {
        await useTarget()
        const jobId = await submit(makeRecords(1))
        await chronos.waitForState(jobId)
        expectError(await chronos.get(`/jobs/${jobId}/results?${query}`), 400, 'invalid_request')
      })
    }
  })
})
