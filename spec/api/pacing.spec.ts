// Even pacing (DESIGN §8, issue 13): `rate_limit` spaces starts 1000 / rate_limit ms apart
// (GCRA) with an optional `rate_burst`. Measured where targets enforce limits, on arrival:
// no one-second window of the target's clock holds more than rate_limit + rate_burst of the
// job's requests, retries included, and a job takes as long as its spacing says.
// Before issue 13 the limiter counted a one-second window at the sender, so a job started a
// whole second's budget at once: 60 records at rate_limit 20 took about 2 s, and targets saw
// up to rate_limit × 1.4 requests inside one of their seconds.
import { expect } from 'chai'
import { startChronos, type Chronos } from '../helpers/chronos.js'
import { startTarget, type Target, type TargetScript } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'

/** The most arrivals in any half-open window [t, t + 1000) of the target's clock. */
function busiestSecond (arrivals: readonly number[]): number {
  const sorted = [...arrivals].sort((a, b) => a - b)
  let most = 0
  let first = 0
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[last] as number) - (sorted[first] as number) >= 1000) first++
    most = Math.max(most, last - first + 1)
  }
  return most
}

/** Every tenth record answers 503 on its first attempt: retries share the budget. */
const SOME_RETRIES: TargetScript = (req, attempt) => Number(req.recordId) % 10 === 3 && attempt === 1 ? { status: 503 } : undefined

describe('rate_limit paces a job evenly, measured at the target', function () {
  this.timeout(30_000)
  let chronos: Chronos
  let target: Target

  afterEach(async function () {
    await chronos.cleanup()
    await target.close()
  })

  async function runJob (records: number, fields: Record<string, unknown>, script?: TargetScript): Promise<{ arrivals: number[], status: Record<string, any> }> {
    target = await startTarget(script)
    chronos = await startChronos()
    const answer = await chronos.upload(buildUpload(target.port, makeRecords(records), fields))
    expect(answer.status, answer.text).to.equal(202)
    const status = await chronos.waitForState(answer.json.job_id, undefined, 25_000)
    expect(status).to.include({ state: 'completed', succeeded: records, failed: 0 })
    return { arrivals: target.requests.map((req) => req.arrivedAt), status }
  }

  it('60 records at rate_limit 20 (concurrency 8) take about three seconds, at most 21 in any second', async function () {
    const { arrivals } = await runJob(60, { rate_limit: 20, concurrency: 8 })
    expect(arrivals).to.have.length(60)
    const span = (arrivals[59] as number) - (arrivals[0] as number)
    expect(span, 'first to last arrival').to.be.within(2900, 3600)
    expect(busiestSecond(arrivals)).to.be.at.most(21)
  })

  it('rate_limit 20 with retries in the mix: at most 21 in any second, retries included', async function () {
    const { arrivals, status } = await runJob(60, { rate_limit: 20, concurrency: 8 }, SOME_RETRIES)
    expect(arrivals).to.have.length(66)
    expect(status.retries).to.equal(6)
    expect(busiestSecond(arrivals)).to.be.at.most(21)
    expect((arrivals[65] as number) - (arrivals[0] as number)).to.be.at.least(3200)
  })

  it('rate_limit 1: one request a second, retries included', async function () {
    const { arrivals } = await runJob(4, { rate_limit: 1, concurrency: 4 }, (req, attempt) => req.recordId === '1' && attempt === 1 ? { status: 503 } : undefined)
    expect(arrivals).to.have.length(5)
    expect(busiestSecond(arrivals)).to.be.at.most(2)
    for (let i = 1; i < arrivals.length; i++) expect((arrivals[i] as number) - (arrivals[i - 1] as number)).to.be.at.least(900)
  })

  it('rate_limit 20 with rate_burst 5: the burst goes at once, then even spacing; at most 25 in any second', async function () {
    const { arrivals } = await runJob(40, { rate_limit: 20, rate_burst: 5, concurrency: 8 }, SOME_RETRIES)
    expect(arrivals).to.have.length(44)
    expect(busiestSecond(arrivals)).to.be.at.most(25)
    // 44 starts, 5 of them in the first burst: the rest are 50 ms apart.
    expect((arrivals[43] as number) - (arrivals[0] as number)).to.be.at.least(1900)
  })

  it('rate_limit 500 (concurrency 16): at most 501 in any second, retries included', async function () {
    const { arrivals } = await runJob(1500, { rate_limit: 500, concurrency: 16 }, SOME_RETRIES)
    expect(arrivals).to.have.length(1650)
    expect(busiestSecond(arrivals)).to.be.at.most(501)
    expect((arrivals[1649] as number) - (arrivals[0] as number)).to.be.at.least(3200)
  })
})
