// toJobStatus(): the status object of DESIGN §3 from a job's stored meta and counts hashes.
import { expect } from 'chai'
import { latencyBucket } from '../../lib/domain/latency-histogram.js'
import { toJobStatus as statusOfJob, type JobStatus } from '../../lib/domain/job-status.js'
import { jobFromHashes } from '../../lib/store/job-hashes.js'

/** The status of a job stored as these hashes (the store's parsing and the status together). */
function toJobStatus ({ meta, counts }: { meta: Record<string, string>, counts: Record<string, string> }, nowMs?: number): JobStatus {
  return statusOfJob(jobFromHashes(meta, counts), nowMs)
}

const STARTED = '2026-01-21T10:00:00.000Z'
const STARTED_MS = Date.parse(STARTED)

const META = {
  job_id: 'job-7f9c2e4a-1b3d-4e5f-8a9b-0c1d2e3f4a5b',
  primarykey: 'batch-001',
  state: 'running',
  total: '4',
  submitted_at: '2026-01-21T09:59:59.000Z',
  started_at: STARTED
}

/** Counts as the status sink writes them: every number a string, s:/e:/h: fields. */
function countsFor (times: readonly number[], extra: Record<string, string> = {}): Record<string, string> {
  const counts: Record<string, string> = {}
  if (times.length > 0) {
    counts.count = String(times.length)
    counts.time_min = String(Math.min(...times))
    counts.time_max = String(Math.max(...times))
    counts.time_sum = String(times.reduce((a, b) => a + b, 0))
    for (const time of times) {
      const field = `h:${latencyBucket(time)}`
      counts[field] = String(Number(counts[field] ?? 0) + 1)
    }
  }
  return { ...counts, ...extra }
}

describe('toJobStatus()', () => {
  describe('for the DESIGN §3 example', () => {
    const times = [11.2, 13.4, 40.5]
    const status = toJobStatus({
      meta: META,
      counts: countsFor(times, { succeeded: '2', failed: '1', retries: '2', 's:200': '2', 's:503': '1', 'e:timeout': '0' })
    }, STARTED_MS + 2000)

    const fields: Array<[string, unknown]> = [
      ['job_id', META.job_id],
      ['primarykey', 'batch-001'],
      ['state', 'running'],
      ['total', 4],
      ['count', 3],
      ['succeeded', 2],
      ['failed', 1],
      ['pending', 1],
      ['retries', 2],
      ['min_time', 11.2],
      ['max_time', 40.5],
      ['avg_time', 21.7],
      ['status_codes', { 200: 2, 503: 1 }],
      ['errors', { timeout: 0 }],
      ['submitted_at', META.submitted_at],
      ['started_at', STARTED],
      ['finished_at', null],
      ['rate', 1.5],
      ['eta_ms', 667]
    ]
    for (const [field, expected] of fields) {
      it(`gives ${field} ${JSON.stringify(expected)}`, () => {
        expect((status as unknown as Record<string, unknown>)[field]).to.deep.equal(expected)
      })
    }

    it('keeps count == succeeded + failed', () => {
      expect(status.count).to.equal(status.succeeded + status.failed)
    })

    it('carries no error object', () => {
      expect(status).not.to.have.property('error')
    })

    it('is plain JSON', () => {
      expect(JSON.parse(JSON.stringify(status))).to.deep.equal(status)
    })
  })

  describe('counts', () => {
    const cases: Array<[string, string | undefined, Record<string, string>, number]> = [
      ['nothing counted yet', '10', {}, 10],
      ['part counted', '10', { count: '4', succeeded: '3', failed: '1' }, 6],
      ['all counted', '10', { count: '10', succeeded: '10', failed: '0' }, 0],
      ['more counted than total (never negative)', '2', { count: '3', succeeded: '3' }, 0],
      ['no total stored', undefined, { count: '1', succeeded: '1' }, 0]
    ]
    for (const [what, total, counts, pending] of cases) {
      it(`gives pending ${pending} with ${what}`, () => {
        const meta: Record<string, string> = { ...META }
        if (total === undefined) delete meta.total
        else meta.total = total
        const status = toJobStatus({ meta, counts: { time_min: '1', time_max: '1', time_sum: '1', ...counts } }, STARTED_MS + 1000)
        expect(status.pending).to.equal(pending)
        expect(status.count).to.equal(status.succeeded + status.failed)
      })
    }

    it('reads missing and garbled numbers as 0', () => {
      const status = toJobStatus({ meta: { ...META, total: 'many' }, counts: { count: 'x', retries: '' } }, STARTED_MS)
      expect(status.total).to.equal(0)
      expect(status.count).to.equal(0)
      expect(status.succeeded).to.equal(0)
      expect(status.failed).to.equal(0)
      expect(status.retries).to.equal(0)
    })

    it('has null times before any record is counted', () => {
      const status = toJobStatus({ meta: META, counts: {} }, STARTED_MS + 1000)
      for (const field of ['min_time', 'max_time', 'avg_time', 'p50_time', 'p95_time', 'p99_time'] as const) {
        expect(status[field], field).to.equal(null)
      }
    })
  })

  describe('status_codes and errors', () => {
    it('reads every s: field as a status code and every e: field as an error reason', () => {
      const status = toJobStatus({
        meta: META,
        counts: {
          count: '9',
          's:200': '4',
          's:404': '1',
          's:503': '2',
          'e:timeout': '1',
          'e:connect_error': '1',
          'e:http_status': '3',
          'e:target_forbidden': '0',
          'h:5': '9',
          succeeded: '4',
          failed: '5',
          time_min: '1',
          time_max: '2',
          time_sum: '12'
        }
      }, STARTED_MS + 1000)
      expect(status.status_codes).to.deep.equal({ 200: 4, 404: 1, 503: 2 })
      expect(status.errors).to.deep.equal({ timeout: 1, connect_error: 1, http_status: 3, target_forbidden: 0 })
    })

    it('gives empty objects when nothing was counted', () => {
      const status = toJobStatus({ meta: META, counts: {} }, STARTED_MS)
      expect(status.status_codes).to.deep.equal({})
      expect(status.errors).to.deep.equal({})
    })

    it('does not mistake other fields for codes or reasons', () => {
      const status = toJobStatus({ meta: META, counts: { succeeded: '1', count: '1', sum: '3', error: '2', time_min: '1', time_max: '1', time_sum: '1' } }, STARTED_MS)
      expect(status.status_codes).to.deep.equal({})
      expect(status.errors).to.deep.equal({})
    })
  })

  describe('rate and eta_ms', () => {
    const cases: Array<[string, Record<string, string>, string, number, number | null, number | null]> = [
      // [what, meta overrides, count, nowMs, rate, eta_ms]
      ['a job not started yet', { state: 'queued', started_at: '' }, '0', STARTED_MS + 5000, null, null],
      ['a job started this very millisecond', {}, '0', STARTED_MS, null, null],
      ['a running job with nothing counted', {}, '0', STARTED_MS + 1000, 0, null],
      ['a running job: 1 record in 2 s, 3 pending', {}, '1', STARTED_MS + 2000, 0.5, 6000],
      ['a running job: 3 records in 2 s, 1 pending', {}, '3', STARTED_MS + 2000, 1.5, 667],
      ['a running job: 2 records in 500 ms, 2 pending', {}, '2', STARTED_MS + 500, 4, 500],
      ['a paused job keeps its eta from the current rate', { state: 'paused' }, '2', STARTED_MS + 4000, 0.5, 4000],
      ['a running job with every record counted', {}, '4', STARTED_MS + 4000, 1, 0],
      ['a finished job: rate over its run, not up to now', { state: 'completed', finished_at: '2026-01-21T10:00:08.000Z' }, '4', STARTED_MS + 60_000, 0.5, 0],
      ['a cancelled job with records left', { state: 'cancelled', finished_at: '2026-01-21T10:00:02.000Z' }, '1', STARTED_MS + 60_000, 0.5, 0]
    ]
    for (const [what, overrides, count, nowMs, rate, eta] of cases) {
      it(`gives rate ${String(rate)} and eta_ms ${String(eta)} for ${what}`, () => {
        const meta: Record<string, string> = { ...META, ...overrides }
        if (meta.started_at === '') delete meta.started_at
        const counts = Number(count) > 0 ? { count, succeeded: count, time_min: '1', time_max: '1', time_sum: count } : {}
        const status = toJobStatus({ meta, counts }, nowMs)
        expect(status.rate).to.equal(rate)
        expect(status.eta_ms).to.equal(eta)
      })
    }

    it('uses the nowMs argument, not the clock', () => {
      const a = toJobStatus({ meta: META, counts: { count: '2', time_min: '1', time_max: '1', time_sum: '2' } }, STARTED_MS + 1000)
      const b = toJobStatus({ meta: META, counts: { count: '2', time_min: '1', time_max: '1', time_sum: '2' } }, STARTED_MS + 2000)
      expect(a.rate).to.equal(2)
      expect(b.rate).to.equal(1)
      expect(a.eta_ms).to.equal(1000)
      expect(b.eta_ms).to.equal(2000)
    })
  })

  describe('times', () => {
    it('reports min, max and the average rounded to 0.01 ms', () => {
      const status = toJobStatus({ meta: META, counts: countsFor([1, 2, 2]) }, STARTED_MS + 1000)
      expect(status.min_time).to.equal(1)
      expect(status.max_time).to.equal(2)
      expect(status.avg_time).to.equal(1.67)
    })

    it('reports percentiles from the h: buckets, within one bucket and inside [min, max]', () => {
      const times = Array.from({ length: 200 }, (_, i) => 10 + i)
      const status = toJobStatus({ meta: { ...META, total: '200' }, counts: countsFor(times) }, STARTED_MS + 1000)
      const checks: Array<[number | null, number]> = [[status.p50_time, 109], [status.p95_time, 199], [status.p99_time, 207]]
      for (const [estimate, truth] of checks) {
        expect(estimate).to.be.a('number')
        expect(estimate).to.be.at.least(truth - 0.01)
        expect(estimate).to.be.at.most(truth * 1.05 + 0.01)
        expect(estimate).to.be.at.most(209)
      }
    })
  })

  describe('state and error', () => {
    for (const state of ['queued', 'running', 'paused', 'completed', 'cancelled', 'failed']) {
      it(`passes state ${state} through`, () => {
        expect(toJobStatus({ meta: { ...META, state }, counts: {} }, STARTED_MS).state).to.equal(state)
      })
    }

    it('reads a job without a stored state as failed', () => {
      const meta: Record<string, string> = { ...META }
      delete meta.state
      expect(toJobStatus({ meta, counts: {} }, STARTED_MS).state).to.equal('failed')
    })

    it('adds an error object when error_code is stored', () => {
      const status = toJobStatus({
        meta: { ...META, state: 'failed', error_code: 'state_lost', error_message: 'Redis lost this job', finished_at: '2026-01-21T10:00:05.000Z' },
        counts: {}
      }, STARTED_MS)
      expect(status.state).to.equal('failed')
      expect(status.error).to.deep.equal({ code: 'state_lost', message: 'Redis lost this job' })
    })

    it('gives the error an empty message when none is stored', () => {
      const status = toJobStatus({ meta: { ...META, state: 'failed', error_code: 'spool_lost' }, counts: {} }, STARTED_MS)
      expect(status.error).to.deep.equal({ code: 'spool_lost', message: '' })
    })

    it('gives null timestamps and empty ids when meta lacks them', () => {
      const status = toJobStatus({ meta: { state: 'queued' }, counts: {} }, STARTED_MS)
      expect(status.job_id).to.equal('')
      expect(status.primarykey).to.equal('')
      expect(status.submitted_at).to.equal(null)
      expect(status.started_at).to.equal(null)
      expect(status.finished_at).to.equal(null)
    })
  })
})

describe('toJobStatus(): what the holder sees of the target (DESIGN §8)', () => {
  const spec = JSON.stringify({ concurrency: 32, adaptive_concurrency: true })

  it('carries the live concurrency_limit its holder wrote', () => {
    expect(toJobStatus({ meta: { ...META, spec, concurrency_limit: '9' }, counts: {} })).to.include({ concurrency_limit: 9 })
  })

  it('shows the spec\'s concurrency before the holder wrote one, and 1 for a job without a spec', () => {
    expect(toJobStatus({ meta: { ...META, spec }, counts: {} })).to.include({ concurrency_limit: 32 })
    expect(toJobStatus({ meta: META, counts: {} })).to.include({ concurrency_limit: 1 })
    expect(toJobStatus({ meta: { ...META, spec: '{not json' }, counts: {} })).to.include({ concurrency_limit: 1 })
  })

  it('shows the circuit, closed unless stored open or half_open', () => {
    expect(toJobStatus({ meta: META, counts: {} }).circuit).to.equal('closed')
    for (const circuit of ['open', 'half_open', 'closed']) {
      expect(toJobStatus({ meta: { ...META, circuit }, counts: {} }).circuit).to.equal(circuit)
    }
    expect(toJobStatus({ meta: { ...META, circuit: 'ajar' }, counts: {} }).circuit).to.equal('closed')
  })

  it('shows pause_reason only while the job is paused', () => {
    expect(toJobStatus({ meta: { ...META, state: 'paused', pause_reason: 'circuit_open' }, counts: {} })).to.include({ pause_reason: 'circuit_open' })
    expect(toJobStatus({ meta: { ...META, pause_reason: 'circuit_open' }, counts: {} })).to.not.have.property('pause_reason')
    expect(toJobStatus({ meta: { ...META, state: 'paused' }, counts: {} })).to.not.have.property('pause_reason')
  })
})
