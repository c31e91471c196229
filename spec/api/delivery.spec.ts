// Delivery policy (DESIGN §2, issue 3) against a scripted loopback target: exact attempt
// counts per record, retryable vs final statuses, Retry-After, timeouts, resets, the
// idempotency key, the per-job rate limit, the concurrency cap, and a 20,000-record job.
// Timing checks measure gaps between events the target saw (arrivedAt, one process clock),
// never absolute speed, and use generous bounds.
import { expect } from 'chai'
import { results, startChronos, type Chronos } from '../helpers/chronos.js'
import { startTarget, type Target, type TargetRequest, type TargetScript } from '../helpers/target.js'
import { buildUpload, makeRecords, type RecordLine, type SpecFields } from '../helpers/ndjson.js'

describe('delivery', function () {
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

  /** Starts the target with `script`, uploads `records` to it, answers with the job id. */
  async function runJob (script: TargetScript, records: RecordLine[], fields: SpecFields = {}): Promise<{ jobId: string, target: Target }> {
    const started = target = await startTarget(script)
    const answer = await chronos.upload(buildUpload(started.port, records, fields))
    expect(answer.status, answer.text).to.equal(202)
    return { jobId: answer.json.job_id, target: started }
  }

  function attemptsById (requests: TargetRequest[]): Map<string, number> {
    const counts = new Map<string, number>()
    for (const req of requests) counts.set(req.recordId ?? '', (counts.get(req.recordId ?? '') ?? 0) + 1)
    return counts
  }

  function requestsOf (requests: TargetRequest[], id: string): TargetRequest[] {
    return requests.filter((req) => req.recordId === id)
  }

  /** Non-zero entries only: a zero counter may or may not be listed. */
  function nonZero (counters: Record<string, number>): Record<string, number> {
    return Object.fromEntries(Object.entries(counters).filter(([, n]) => n !== 0))
  }

  /** The most arrivals in any window [t, t + windowMs) that starts at an arrival. */
  function maxInWindow (requests: TargetRequest[], windowMs: number): number {
    const times = requests.map((req) => req.arrivedAt).sort((a, b) => a - b)
    let most = 0
    let end = 0
    for (let start = 0; start < times.length; start++) {
      while (end < times.length && (times[end] as number) < (times[start] as number) + windowMs) end++
      most = Math.max(most, end - start)
    }
    return most
  }

  describe('retries', function () {
    it('tries a record failing 503 twice then 200 exactly 3 times and counts the retries', async function () {
      const { jobId, target } = await runJob((_req, attempt) => attempt <= 2 ? { status: 503 } : undefined, makeRecords(3))
      const status = await chronos.waitForState(jobId)
      expect(status).to.include({ state: 'completed', total: 3, count: 3, succeeded: 3, failed: 0 })
      expect(status.status_codes).to.deep.equal({ 200: 3 })
      expect([...attemptsById(target.requests)].sort()).to.deep.equal([['1', 3], ['2', 3], ['3', 3]])
      // retries = attempts beyond each record's first, summed.
      expect(status.retries).to.equal(target.requests.length - 3)
      expect(status.retries).to.equal(6)
      for (const line of await results(chronos, jobId)) expect(line).to.include({ ok: true, status: 200, attempts: 3, error: null })
    })

    it('stops at max_attempts for an always-500 target and fails the record', async function () {
      const { jobId, target } = await runJob(() => ({ status: 500 }), makeRecords(4), { max_attempts: 2 })
      const status = await chronos.waitForState(jobId)
      expect(status).to.include({ state: 'completed', total: 4, count: 4, succeeded: 0, failed: 4, retries: 4 })
      expect(status.status_codes).to.deep.equal({ 500: 4 })
      expect(nonZero(status.errors)).to.deep.equal({ http_status: 4 })
      expect([...attemptsById(target.requests).values()]).to.deep.equal([2, 2, 2, 2])
      for (const line of await results(chronos, jobId)) expect(line).to.include({ ok: false, status: 500, attempts: 2, error: 'http_status' })
    })

    it('tries non-retryable statuses (400, 404, 422, 501) once', async function () {
      const byId: Record<string, number> = { 1: 400, 2: 404, 3: 422, 4: 501 }
      const { jobId, target } = await runJob((req) => ({ status: byId[req.recordId ?? ''] ?? 200 }), makeRecords(4))
      const status = await chronos.waitForState(jobId)
      expect(status).to.include({ state: 'completed', count: 4, succeeded: 0, failed: 4, retries: 0 })
      expect(status.status_codes).to.deep.equal({ 400: 1, 404: 1, 422: 1, 501: 1 })
      expect(nonZero(status.errors)).to.deep.equal({ http_status: 4 })
      expect(target.requests).to.have.length(4)
      const lines = await results(chronos, jobId)
      expect(lines.map((line) => [line.id, line.status, line.attempts]).sort()).to.deep.equal([[1, 400, 1], [2, 404, 1], [3, 422, 1], [4, 501, 1]])
    })

    it('retries every retryable status (408, 425, 429, 500, 502, 503, 504)', async function () {
      const byId: Record<string, number> = { 1: 408, 2: 425, 3: 429, 4: 500, 5: 502, 6: 503, 7: 504 }
      const { jobId, target } = await runJob((req, attempt) => attempt === 1 ? { status: byId[req.recordId ?? ''] ?? 200 } : undefined, makeRecords(7))
      const status = await chronos.waitForState(jobId)
      expect(status).to.include({ state: 'completed', count: 7, succeeded: 7, failed: 0, retries: 7 })
      expect([...attemptsById(target.requests).values()]).to.deep.equal([2, 2, 2, 2, 2, 2, 2])
    })

    it('waits the Retry-After seconds of a 429 before the next attempt', async function () {
      const { jobId, target } = await runJob((_req, attempt) => attempt === 1 ? { status: 429, headers: { 'retry-after': '1' } } : undefined, makeRecords(1))
      const status = await chronos.waitForState(jobId)
      expect(status).to.include({ state: 'completed', succeeded: 1, retries: 1 })
      const [first, second] = requestsOf(target.requests, '1')
      expect(target.requests).to.have.length(2)
      const gapMs = (second as TargetRequest).arrivedAt - (first as TargetRequest).arrivedAt
      // Without Retry-After the 2nd attempt waits at most 250 ms (full jitter, base 250 ms).
      expect(gapMs).to.be.at.least(950)
      expect(gapMs).to.be.below(5000)
    })

    it('honours Retry-After given as an HTTP date', async function () {
      // An HTTP date has whole seconds: aim 3 s ahead, so the date is 2–3 s after the first attempt.
      let retryAtMs = 0
      let secondArrivedAtMs = 0
      const { jobId, target } = await runJob((_req, attempt) => {
        if (attempt > 1) {
          secondArrivedAtMs = Date.now()
          return undefined
        }
        retryAtMs = Math.floor((Date.now() + 3000) / 1000) * 1000
        return { status: 503, headers: { 'retry-after': new Date(retryAtMs).toUTCString() } }
      }, makeRecords(1))
      const status = await chronos.waitForState(jobId)
      expect(status).to.include({ state: 'completed', succeeded: 1, retries: 1 })
      const [first, second] = requestsOf(target.requests, '1')
      const gapMs = (second as TargetRequest).arrivedAt - (first as TargetRequest).arrivedAt
      expect(gapMs).to.be.at.least(1900)
      expect(gapMs).to.be.below(8000)
      expect(secondArrivedAtMs).to.be.at.least(retryAtMs - 50)
    })

    it('fails an attempt that outlives timeout_ms with reason timeout, and retries it', async function () {
      // Record 1 is always slow; record 2 only on its first attempt. The delay is far beyond
      // timeout_ms so that only a timeout can end those attempts.
      const { jobId, target } = await runJob((req, attempt) =>
        req.recordId === '1' || attempt === 1 ? { delayMs: 3000 } : undefined, makeRecords(2), { timeout_ms: 200, max_attempts: 2 })
      const status = await chronos.waitForState(jobId)
      expect(status).to.include({ state: 'completed', count: 2, succeeded: 1, failed: 1, retries: 2 })
      expect(nonZero(status.errors)).to.deep.equal({ timeout: 1 })
      expect([...attemptsById(target.requests)].sort()).to.deep.equal([['1', 2], ['2', 2]])
      const byId = new Map((await results(chronos, jobId)).map((line) => [line.id, line]))
      expect(byId.get(1)).to.include({ ok: false, status: null, attempts: 2, error: 'timeout' })
      expect(byId.get(2)).to.include({ ok: true, status: 200, attempts: 2, error: null })
    })

    it('ends a timed-out attempt near timeout_ms', async function () {
      // Records 1-4 always outlive timeout_ms; the other 400 answer, so the target is up and
      // their timeouts stand (a target where every attempt times out opens the circuit).
      // The answers must outlast the slow records' last attempts: a record that runs out of
      // attempts on a timeout waits for the next answer as its verdict, and two waiting with
      // nothing left to send open the circuit (target-guard.ts decideIdle). 40 answers were
      // over before the retries timed out on a loaded machine.
      const slow = ['1', '2', '3', '4']
      const { jobId, target } = await runJob((req) => ({ delayMs: slow.includes(req.recordId ?? '') ? 3000 : 20 }), makeRecords(404), { timeout_ms: 200, max_attempts: 2 })
      const status = await chronos.waitForState(jobId)
      expect(status).to.include({ succeeded: 400, failed: 4, circuit: 'closed' })
      const lines = (await results(chronos, jobId)).filter((line) => !line.ok)
      expect(lines).to.have.length(4)
      // time_ms is the last attempt's wall time: cut at ~200 ms (3× slack), not seconds later.
      for (const line of lines) {
        expect(line.error).to.equal('timeout')
        expect(line.time_ms, `record ${line.id}`).to.be.within(150, 600)
      }
      // Gap between a record's two attempts: one timeout plus a backoff of at most 250 ms.
      for (const id of slow) {
        const [first, second] = requestsOf(target.requests, id)
        expect((second as TargetRequest).arrivedAt - (first as TargetRequest).arrivedAt, `record ${id}`).to.be.below(1000)
      }
    })

    it('fails a reset connection with reason connect_error, and retries it', async function () {
      // Record 1 always resets; record 2 only on its first attempt.
      const { jobId, target } = await runJob((req, attempt) =>
        req.recordId === '1' || attempt === 1 ? { reset: true } : undefined, makeRecords(2), { max_attempts: 3 })
      const status = await chronos.waitForState(jobId)
      expect(status).to.include({ state: 'completed', count: 2, succeeded: 1, failed: 1, retries: 3 })
      expect(nonZero(status.errors)).to.deep.equal({ connect_error: 1 })
      expect([...attemptsById(target.requests)].sort()).to.deep.equal([['1', 3], ['2', 2]])
      const byId = new Map((await results(chronos, jobId)).map((line) => [line.id, line]))
      expect(byId.get(1)).to.include({ ok: false, status: null, attempts: 3, error: 'connect_error' })
      expect(byId.get(2)).to.include({ ok: true, status: 200, attempts: 2, error: null })
    })

    it('sends the same idempotency-key with every attempt of a record', async function () {
      const { jobId, target } = await runJob((_req, attempt) => attempt <= 2 ? { status: 503 } : undefined, [{ id: 'order-7', payload: { n: 7 } }, { id: 8, payload: 'x' }])
      await chronos.waitForState(jobId)
      const seven = requestsOf(target.requests, 'order-7')
      const eight = requestsOf(target.requests, '8')
      expect(seven).to.have.length(3)
      expect(eight).to.have.length(3)
      expect(new Set(seven.map((req) => req.idempotencyKey))).to.deep.equal(new Set([`${jobId}:order-7`]))
      expect(new Set(eight.map((req) => req.idempotencyKey))).to.deep.equal(new Set([`${jobId}:8`]))
      expect(new Set(seven.map((req) => req.body))).to.deep.equal(new Set(['{"n":7}']))
    })
  })

  describe('rate_limit', function () {
    // Tolerance is in time, not in count. The limiter spaces *starts* (Chronos's clock); the
    // target stamps *arrivals*, each a start plus a variable transfer delay. The first burst
    // also opens its sockets, later ones reuse them, so a whole burst of 5 arrives a few ms
    // less than 1000 ms after the previous one (measured: 997 ms): a 1000 ms window on arrivals
    // can hold 10 with a correct limiter, so "at most 6" would not work. Arrivals within
    // 1000 - J ms come from starts within 1000 ms when the delay varies by less than J; with
    // J = 100 ms any such window must hold at most 5. A fixed-window or bursty limiter still
    // fails it (5 at the end of one second and 5 at the start of the next land within ms).
    const ARRIVAL_JITTER_MS = 100

    it('starts at most 5 requests in any one-second window with rate_limit 5', async function () {
      this.timeout(30_000)
      const { jobId, target } = await runJob(() => undefined, makeRecords(20), { rate_limit: 5, concurrency: 20 })
      const status = await chronos.waitForState(jobId, undefined, 20_000)
      expect(status).to.include({ state: 'completed', count: 20, succeeded: 20 })
      expect(target.requests).to.have.length(20)
      expect(maxInWindow(target.requests, 1000 - ARRIVAL_JITTER_MS)).to.be.at.most(5)
      expect(maxInWindow(target.requests, 2000 - ARRIVAL_JITTER_MS)).to.be.at.most(10)
      const times = target.requests.map((req) => req.arrivedAt)
      // 20 starts at 5/s: the 20th can start no earlier than 3 s after the 1st.
      expect(Math.max(...times) - Math.min(...times)).to.be.at.least(2900)
    })

    it('counts retries against the rate limit', async function () {
      this.timeout(30_000)
      const { jobId, target } = await runJob((_req, attempt) => attempt === 1 ? { status: 503 } : undefined, makeRecords(10), { rate_limit: 5, concurrency: 10 })
      const status = await chronos.waitForState(jobId, undefined, 20_000)
      expect(status).to.include({ state: 'completed', count: 10, succeeded: 10, retries: 10 })
      expect(target.requests).to.have.length(20)
      expect(maxInWindow(target.requests, 1000 - ARRIVAL_JITTER_MS)).to.be.at.most(5)
      expect(maxInWindow(target.requests, 2000 - ARRIVAL_JITTER_MS)).to.be.at.most(10)
      const times = target.requests.map((req) => req.arrivedAt)
      expect(Math.max(...times) - Math.min(...times)).to.be.at.least(2900)
    })
  })

  describe('concurrency', function () {
    it('keeps at most 3 requests in flight with concurrency 3 and a slow target', async function () {
      const { jobId, target } = await runJob(() => ({ delayMs: 150 }), makeRecords(15), { concurrency: 3 })
      const status = await chronos.waitForState(jobId)
      expect(status).to.include({ state: 'completed', count: 15, succeeded: 15 })
      expect(target.maxInFlight).to.be.at.most(3)
      expect(target.maxInFlight).to.be.at.least(2)
    })
  })

  describe('a 20,000-record job', function () {
    it('delivers every record exactly once with exact counts and a latency picture', async function () {
      this.timeout(180_000)
      const total = 20_000
      const { jobId, target } = await runJob(() => undefined, makeRecords(total), { concurrency: 32 })
      const status = await chronos.waitForState(jobId, undefined, 170_000)
      expect(status).to.include({ state: 'completed', total, count: total, succeeded: total, failed: 0, pending: 0, retries: 0 })
      expect(status.count).to.equal(status.succeeded + status.failed)
      expect(status.status_codes).to.deep.equal({ 200: total })

      expect(target.requests).to.have.length(total)
      const ids = new Set(target.requests.map((req) => req.recordId))
      expect(ids.size).to.equal(total)
      for (let id = 1; id <= total; id++) if (!ids.has(String(id))) expect.fail(`record ${id} was never delivered`)
      expect(target.maxInFlight).to.be.at.most(32)

      for (const field of ['min_time', 'avg_time', 'max_time', 'p50_time', 'p95_time', 'p99_time']) {
        expect(status[field], field).to.be.a('number')
      }
      expect(status.min_time).to.be.at.most(status.avg_time)
      expect(status.avg_time).to.be.at.most(status.max_time)
      expect(status.min_time).to.be.at.most(status.p50_time)
      expect(status.p50_time).to.be.at.most(status.p95_time)
      expect(status.p95_time).to.be.at.most(status.p99_time)
      expect(status.p99_time).to.be.at.most(status.max_time)
    })
  })
})
