// A 429 or 503 with Retry-After holds every start of the job until then (DESIGN §8, issue 13),
// not only that record's retry, with or without adaptive concurrency. Measured at the target:
// after the answer carrying Retry-After, no request of the job arrives before it has passed.
import { expect } from 'chai'
import { useStarters } from '../helpers/chronos.js'
import type { Target, TargetReply } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'

describe('Retry-After holds the whole job', function () {
  this.timeout(30_000)
  const start = useStarters()

  /** The first request gets `first()`; every other one 200 after 30 ms. Returns the arrival times. */
  async function runJob (first: () => TargetReply, fields: Record<string, unknown> = {}): Promise<number[]> {
    const target: Target = await start.target(() => target.requests.length === 1 ? first() : { delayMs: 30 })
    const chronos = await start.chronos()
    const answer = await chronos.upload(buildUpload(target.port, makeRecords(20), { concurrency: 4, ...fields }))
    expect(answer.status, answer.text).to.equal(202)
    const status = await chronos.waitForState(answer.json.job_id, undefined, 20_000)
    expect(status).to.include({ state: 'completed', succeeded: 20, failed: 0, circuit: 'closed' })
    expect(target.requests).to.have.length(21)
    return target.requests.map((req) => req.arrivedAt)
  }

  /**
   * How long after the first request the next start arrived: the first four went together
   * (concurrency 4; new connections may spread their arrivals), so the fifth is the first
   * one started after the answer to the first.
   */
  function nextStart (arrivals: number[]): number {
    return (arrivals[4] as number) - (arrivals[0] as number)
  }

  it('429 with Retry-After: 2: nothing of the job starts for two seconds', async function () {
    const arrivals = await runJob(() => ({ status: 429, headers: { 'retry-after': '2' } }))
    expect(nextStart(arrivals), 'first start after the hold').to.be.within(1950, 2600)
  })

  it('503 with Retry-After as an HTTP date, with adaptive concurrency on', async function () {
    const arrivals = await runJob(() => ({ status: 503, headers: { 'retry-after': new Date(Date.now() + 3000).toUTCString() } }), { adaptive_concurrency: true })
    // An HTTP date has whole seconds: the hold ends 2-3 s after the answer.
    expect(nextStart(arrivals), 'first start after the hold').to.be.within(1950, 3600)
  })

  it('a 429 without Retry-After holds nothing but that record', async function () {
    const arrivals = await runJob(() => ({ status: 429 }))
    expect(nextStart(arrivals), 'the next start').to.be.below(500)
  })
})
