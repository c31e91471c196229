// Fair share inside one instance (DESIGN §7, issue 12 "Scheduling"): the instance's in-flight
// budget (CHRONOS_MAX_IN_FLIGHT) is shared between its running jobs, so a small job submitted
// while big ones hold the whole budget starts at once and completes in about the time it
// takes alone. Before the budget, four big jobs held the four job slots and a 100-record job
// waited 13.7 s in the queue (this spec, run with CHRONOS_MAX_ACTIVE_JOBS=4, times out with
// the small job still `queued`).
//
// Four 200,000-record jobs against a 20 ms target want four times the budget; then a
// 100-record job must start within 1 s and complete within 2 s of its upload (the job's own
// submitted_at, started_at and finished_at). A behaviour check, not a speed claim: alone it
// takes ~0.3 s. The budget is small (64) so that the instance is bound by its budget, not by
// the CPU of a shared CI machine: an instance that is CPU-bound slows every event-loop turn,
// and with it every job, whatever their shares.
//
// The target runs as its own process (the bench's): in-process, its CPU would compete with
// Chronos's event loop.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { startChronos, type Chronos } from '../helpers/chronos.js'
import { startTargetProcess, type TargetProcess } from '../helpers/target-process.js'
import { makeRecords, specLine } from '../helpers/ndjson.js'

const BUDGET = 64
const BIG_JOBS = 4
const BIG_RECORDS = 200_000
const BIG_CONCURRENCY = 64
const SMALL_CONCURRENCY = 10
const TARGET_LATENCY_MS = 20

function ndjsonRecords (count: number): string {
  return makeRecords(count).map((record) => JSON.stringify(record)).join('\n') + '\n'
}

async function submit (chronos: Chronos, port: number, records: string, concurrency: number): Promise<string> {
  const answer = await chronos.upload(`${specLine(port, { concurrency })}\n${records}`)
  expect(answer.status, answer.text).to.equal(202)
  return answer.json.job_id as string
}

async function until (check: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

const msBetween = (from: string, to: string): number => Date.parse(to) - Date.parse(from)

describe('fair share of an instance\'s in-flight budget', function () {
  this.timeout(120_000)
  let chronos: Chronos | undefined
  let target: TargetProcess | undefined
  let sampler: NodeJS.Timeout | undefined

  afterEach(async function () {
    clearInterval(sampler)
    await chronos?.cleanup()
    await target?.stop()
  })

  it('completes a 100-record job within 2 s of its upload while four 200,000-record jobs fill the budget', async function () {
    target = await startTargetProcess(TARGET_LATENCY_MS)
    chronos = await startChronos({ CHRONOS_MAX_IN_FLIGHT: String(BUDGET), LOG_LEVEL: 'info' })
    const runner = chronos.service.deps.runner
    let mostInFlight = 0
    sampler = setInterval(() => { mostInFlight = Math.max(mostInFlight, runner.inFlight) }, 5)

    const bigRecords = ndjsonRecords(BIG_RECORDS)
    const big: string[] = []
    for (let i = 0; i < BIG_JOBS; i++) big.push(await submit(chronos, target.port, bigRecords, BIG_CONCURRENCY))
    await until(() => runner.activeCount === BIG_JOBS && runner.inFlight === BUDGET, 30_000, 'the big jobs to fill the budget')

    const jobId = await submit(chronos, target.port, ndjsonRecords(100), SMALL_CONCURRENCY)
    const small = await chronos.waitForState(jobId, ['completed'], 60_000)

    expect([small.count, small.succeeded]).to.deep.equal([100, 100])
    expect(msBetween(small.submitted_at, small.started_at), 'submitted → started, ms').to.be.below(1000)
    expect(msBetween(small.submitted_at, small.finished_at), 'submitted → finished, ms').to.be.below(2000)
    for (const id of big) expect((await chronos.get(`/status?key=${id}`)).json.state, 'a big job').to.equal('running')
    // The budget bounds the instance, whatever its jobs' concurrency adds up to.
    expect(mostInFlight).to.equal(BUDGET)

    // Cancelled, the big jobs end at once, and every slot of the budget comes back.
    for (const id of big) expect((await chronos.del(`/jobs/${id}`)).status).to.equal(200)
    await until(() => runner.activeCount === 0, 10_000, 'the big jobs to end')
    expect(runner.inFlight).to.equal(0)
  })
})
