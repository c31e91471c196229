// Issue 18, item 3: queued jobs vanished when Redis lost its data. Running jobs correctly
// ended `state_lost`, but jobs that had been accepted (202) and were still queued were logged
// as "vanished": /status answered 404, nothing was ever sent, and their spool files stayed
// on disk for ever.
//
// Now a queued job whose Redis state is gone is registered again from its receipt and runs
// (none of it had been sent), both while the process runs and after a restart; a started one
// ends `state_lost`; a spool file nobody acknowledged is removed. Nothing stays behind.
//
// Refs: issue 18 item 3
import { utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { randomUUID } from 'node:crypto'
import { expect } from 'chai'
import { startChronosProcess, type ChronosProcess } from '../helpers/chronos-process.js'
import { useFaultRig } from '../helpers/fault-rig.js'
import { eventually, expectEveryIdDelivered } from '../helpers/ledger.js'
import { buildUpload, makeRecords, uniquePrimaryKey } from '../helpers/ndjson.js'
import type { TargetRequest } from '../helpers/target.js'

const BIG = 3000
const SMALL = 40

describe('issue 18: queued jobs when Redis loses its data', function () {
  this.timeout(60_000)
  const rig = useFaultRig({ targetDelayMs: 20, redis: { appendOnly: false } })

  async function start (options: Partial<ChronosProcess['options']> = {}): Promise<ChronosProcess> {
    return await startChronosProcess({ redisUrl: rig.redis.url, ...options, env: { CHRONOS_MAX_ACTIVE_JOBS: '1' } })
  }

  async function submit (chronos: ChronosProcess, total: number): Promise<string> {
    const answer = await chronos.upload(buildUpload(rig.target.port, makeRecords(total), { primarykey: uniquePrimaryKey(), concurrency: 4 }))
    expect(answer.status, answer.text).to.equal(202)
    return answer.json.job_id
  }

  function requestsOf (jobId: string): TargetRequest[] {
    return rig.target.requests.filter((request) => request.headers['x-chronos-job-id'] === jobId)
  }

  it('registers them again and runs them when Redis comes back empty while the process runs', async function () {
    const chronos = await start()
    const running = await submit(chronos, BIG)
    const queued = [await submit(chronos, SMALL), await submit(chronos, SMALL)]
    await rig.target.waitForRequests(50, 30_000)
    expect(queued.map((jobId) => requestsOf(jobId).length)).to.deep.equal([0, 0])

    await rig.redis.restart()

    expect((await chronos.waitForState(running, undefined, 30_000)).error?.code).to.equal('state_lost')
    for (const jobId of queued) {
      const status = await chronos.waitForState(jobId, undefined, 30_000)
      expect(status).to.include({ state: 'completed', total: SMALL, count: SMALL, succeeded: SMALL })
      const ledger = expectEveryIdDelivered(requestsOf(jobId), jobId, SMALL)
      expect(ledger.duplicates).to.equal(0)
    }
    await eventually(async () => expect(await chronos.spoolFiles()).to.deep.equal([]))
  })

  it('after a crash with Redis emptied: queued jobs run, started ones end state_lost, unacknowledged spools go', async function () {
    const first = await start()
    const running = await submit(first, BIG)
    const queued = await submit(first, SMALL)
    await rig.target.waitForRequests(50, 30_000)
    first.kill('SIGKILL')
    await first.waitForExit()
    await rig.redis.restart()
    // A spool file whose upload never got its 202 (the process died before registering it).
    const unacknowledged = `job-${randomUUID()}.ndjson`
    await writeFile(join(first.spoolDir, unacknowledged), '{}\n{"id":1,"payload":"x"}\n')
    const hourAgo = new Date(Date.now() - 3600_000)
    await utimes(join(first.spoolDir, unacknowledged), hourAgo, hourAgo)

    const second = await start(first.options)
    const status = await second.waitForState(queued, undefined, 30_000)
    expect(status).to.include({ state: 'completed', total: SMALL, count: SMALL, succeeded: SMALL })
    expect(expectEveryIdDelivered(requestsOf(queued), queued, SMALL).duplicates).to.equal(0)
    const lost = await second.waitForState(running, undefined, 30_000)
    expect(lost).to.include({ state: 'failed', total: BIG })
    expect(lost.error?.code).to.equal('state_lost')
    await eventually(async () => expect(await second.spoolFiles()).to.deep.equal([]))
  })
})
