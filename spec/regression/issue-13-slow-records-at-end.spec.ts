// Issue 13 (note of 2026-11-30): a record whose attempts run out on a timeout waits for the
// breaker's verdict, and with nothing else left to send two such records opened the circuit.
// Records that are only slow for themselves (the target answered every other record) and
// come last therefore held their job open: the probe was one of them, it timed out again,
// and the probes went on, 5 s, 10 s, 20 s apart, until CHRONOS_CIRCUIT_MAX_OPEN_MS (1 h)
// paused the job.
//
// Now a timed-out record that was outpaced (the target answered a record launched after it
// while it was out) fails as it is (target-guard.ts decideIdle): the job ends with those
// records failed.
//
// Refs: issue 13
import { expect } from 'chai'
import { results, startChronos, type Chronos } from '../helpers/chronos.js'
import { startTarget, type Target } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'
import { FIRST_PROBE_MS } from '../../lib/delivery/circuit-breaker.js'

describe('issue 13: records slow for themselves at the end of a job fail instead of holding it open', function () {
  let chronos: Chronos
  let target: Target

  beforeEach(async function () {
    chronos = await startChronos()
  })

  afterEach(async function () {
    await chronos.cleanup()
    await target.close()
  })

  it('ends the job with the slow records failed, the circuit closed, before any probe', async function () {
    // Records 1 and 2 never answer within timeout_ms; the 10 others, launched after them,
    // answer at once, long before the slow records' second attempts time out, so those two
    // are the last to wait.
    const slow = new Set(['1', '2'])
    target = await startTarget((req) => slow.has(req.recordId ?? '') ? { delayMs: 3000 } : undefined)
    const started = Date.now()
    const answer = await chronos.upload(buildUpload(target.port, makeRecords(12), { timeout_ms: 150, max_attempts: 2 }))
    expect(answer.status, answer.text).to.equal(202)
    const status = await chronos.waitForState(answer.json.job_id, undefined, 12_000)
    expect(Date.now() - started, 'ended without waiting for a probe').to.be.below(FIRST_PROBE_MS)
    expect(status).to.include({ state: 'completed', succeeded: 10, failed: 2, circuit: 'closed' })
    const failed = (await results(chronos, answer.json.job_id)).filter((line) => !line.ok)
    expect(failed.map((line) => [line.id, line.attempts, line.error]).sort()).to.deep.equal([[1, 2, 'timeout'], [2, 2, 'timeout']])
  })
})
