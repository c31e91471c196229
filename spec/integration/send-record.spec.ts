// createAttemptSender() against a real loopback target: one attempt ends in exactly one
// call of its callback, and never inside the call that started it — not even when undici
// fails the dispatch synchronously (a closed pool) or the job is already cancelled. The
// sender relies on that: a callback run mid-call would re-enter its pump.
import { expect } from 'chai'
import { Pool } from 'undici'
import type { Attempt } from '../../lib/delivery/send-record.js'
import { createAttemptSender } from '../../lib/delivery/send-record.js'
import { parseJobSpec, type JobSpec } from '../../lib/domain/job-spec.js'
import type { JobRecord } from '../../lib/domain/record.js'
import { startTarget, type Target } from '../helpers/target.js'

const LIMITS = { defaultConcurrency: 4, maxConcurrency: 16, defaultTimeoutMs: 5000, defaultMaxAttempts: 1 }

function specFor (target: Target): JobSpec {
  const result = parseJobSpec({ primarykey: 'send-record', protocol: 'http', host: target.host, port: target.port, path: '/ingest' }, LIMITS)
  if (!result.ok) throw new Error(result.problems.join('; '))
  return result.spec
}

const RECORD: JobRecord = { index: 0, idJson: '"r-1"', id: 'r-1', payload: '{"n":1}' }

/** Starts one attempt; reports whether its callback ran during the call, and every result. */
async function attemptOnce (send: ReturnType<typeof createAttemptSender>, signal: AbortSignal): Promise<{ ranDuringCall: boolean, results: Array<Attempt | Error> }> {
  const results: Array<Attempt | Error> = []
  let isInCall = true
  let ranDuringCall = false
  const settled = new Promise<void>((resolve) => {
    send(RECORD, signal, (result) => {
      results.push(result)
      ranDuringCall ||= isInCall
      resolve()
    })
  })
  isInCall = false
  await settled
  // Any second call would come within a few ticks.
  await new Promise((resolve) => setTimeout(resolve, 20))
  return { ranDuringCall, results }
}

describe('createAttemptSender()', () => {
  let target: Target
  let pool: Pool

  beforeEach(async () => {
    target = await startTarget()
    pool = new Pool(target.origin, { connections: 2 })
  })

  afterEach(async () => {
    await pool.destroy()
    await target.close()
  })

  it('sends the record and reports one successful attempt, after the call returns', async () => {
    const { ranDuringCall, results } = await attemptOnce(createAttemptSender(specFor(target), 'job-1', pool), new AbortController().signal)
    expect(ranDuringCall).to.equal(false)
    expect(results).to.have.length(1)
    expect(results[0]).to.include({ ok: true, status: 200, error: null })
    expect(target.requests.map((req) => req.idempotencyKey)).to.deep.equal(['job-1:r-1'])
  })

  it('reports a dispatch undici fails synchronously (closed pool) once, after the call returns', async () => {
    await pool.close()
    const { ranDuringCall, results } = await attemptOnce(createAttemptSender(specFor(target), 'job-1', pool), new AbortController().signal)
    expect(ranDuringCall).to.equal(false)
    expect(results).to.have.length(1)
    expect(results[0]).to.include({ ok: false, status: null })
    expect(target.requests).to.have.length(0)
  })

  it('reports an attempt on a cancelled job as cancelled, after the call returns, and sends nothing', async () => {
    const controller = new AbortController()
    controller.abort()
    const { ranDuringCall, results } = await attemptOnce(createAttemptSender(specFor(target), 'job-1', pool), controller.signal)
    expect(ranDuringCall).to.equal(false)
    expect(results).to.deep.equal([{ ok: false, status: null, timeMs: 0, error: 'cancelled' }])
    expect(target.requests).to.have.length(0)
  })
})
