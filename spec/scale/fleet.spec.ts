// DESIGN §7 and issue 12: three Chronos processes on one Redis and one spool dir behave as
// one service. Any instance answers for any job; cancel and pause take effect on the holder
// before the answer; a holder that is killed, frozen or stopped loses its jobs to the others,
// with exact counts checked against the target's own ledger.
//
// Mechanisms under test (docs/scale-out.md):
//   - lib/store/lease-store.ts + lua/acquire-lease.lua, renew-lease.lua: leases and tokens;
//   - lib/store/lua/record-outcomes-5.lua: a write under an old token is refused;
//   - lib/runner/lease-keeper.ts: a holder that could not renew for a lease time stops (Redis
//     cut off by a freezing proxy);
//   - lib/runner/job-claimer.ts: queued jobs and expired leases are taken;
//   - lib/runner/job-control.ts + store/control-channel.ts: operations from any instance;
//   - lib/runner/job-runner.ts close(): SIGTERM hands jobs over at once.
import { randomUUID } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { startChronosProcess, type ChronosProcess } from '../helpers/chronos-process.js'
import { useFaultRig } from '../helpers/fault-rig.js'
import { eventually, expectEveryIdDelivered } from '../helpers/ledger.js'
import { startFreezableProxy } from '../helpers/freezable-proxy.js'
import { buildUpload, makeRecords, uniquePrimaryKey } from '../helpers/ndjson.js'
import { sharedRedis, uniquePrefix } from '../helpers/redis.js'

const LEASE_MS = 2000
const CONCURRENCY = 8
const OUTCOME_BATCH_SIZE = 100
const TARGET_DELAY_MS = 20

describe('a fleet of three instances on one Redis and one spool dir', function () {
  this.timeout(120_000)
  const rig = useFaultRig({ targetDelayMs: TARGET_DELAY_MS })
  let spoolDir: string

  beforeEach(async function () {
    spoolDir = await mkdtemp(join(tmpdir(), 'chronos-fleet-'))
  })

  afterEach(async function () {
    await rm(spoolDir, { recursive: true, force: true })
  })

  /** Started one after the other: three processes compiling at once on two cores start slowly. */
  async function startFleet (size = 3): Promise<ChronosProcess[]> {
    const prefix = uniquePrefix()
    const fleet: ChronosProcess[] = []
    for (let i = 0; i < size; i++) {
      fleet.push(await startChronosProcess({
        redisUrl: sharedRedis().url,
        prefix,
        spoolDir,
        instanceId: `fleet-${i}-${randomUUID().slice(0, 8)}`,
        env: { CHRONOS_LEASE_MS: String(LEASE_MS), CHRONOS_OUTCOME_BATCH_SIZE: String(OUTCOME_BATCH_SIZE), CHRONOS_SHUTDOWN_GRACE_MS: '5000' }
      }))
    }
    return fleet
  }

  async function upload (via: ChronosProcess, total: number): Promise<string> {
    const answer = await via.upload(buildUpload(rig.target.port, makeRecords(total), { primarykey: uniquePrimaryKey(), concurrency: CONCURRENCY }))
    expect(answer.status, answer.text).to.equal(202)
    return answer.json.job_id
  }

  function requestsOf (jobId: string): number {
    return rig.target.requests.filter((request) => request.headers['x-chronos-job-id'] === jobId).length
  }

  async function holderOf (fleet: ChronosProcess[], jobId: string): Promise<ChronosProcess> {
    let holder: ChronosProcess | undefined
    await eventually(async () => {
      const status = (await fleet[0]?.get(`/status?key=${jobId}`))?.json
      holder = fleet.find((chronos) => chronos.instanceId === status.instance && status.lease_expires_at !== null)
      expect(holder, `holder of ${jobId}`).to.not.equal(undefined)
    }, 10_000)
    return holder as ChronosProcess
  }

  /** A fleet running one job of `total` records, once `sentFirst` requests reached the target. */
  async function fleetRunningJob (total: number, sentFirst: number): Promise<{ jobId: string, holder: ChronosProcess, survivors: ChronosProcess[] }> {
    const fleet = await startFleet()
    const jobId = await upload(fleet[0] as ChronosProcess, total)
    await rig.target.waitForRequests(sentFirst, 30_000)
    const holder = await holderOf(fleet, jobId)
    return { jobId, holder, survivors: fleet.filter((chronos) => chronos !== holder) }
  }

  it('uploaded through A, read through B, cancelled through C: no request starts after C answers', async function () {
    const [a, b, c] = await startFleet() as [ChronosProcess, ChronosProcess, ChronosProcess]
    const jobId = await upload(a, 5000)
    await rig.target.waitForRequests(100, 10_000)
    const status = await b.get(`/status?key=${jobId}`)
    expect(status.status).to.equal(200)
    expect(status.json).to.include({ job_id: jobId, state: 'running' })
    expect([a, b, c].map((chronos) => chronos.instanceId)).to.include(status.json.instance)

    const cancelled = await c.request('DELETE', `/jobs/${jobId}`)
    expect(cancelled.status, cancelled.text).to.equal(200)
    expect(cancelled.json.state).to.equal('cancelled')
    const sentAtAnswer = requestsOf(jobId)
    await sleep(500)
    expect(requestsOf(jobId), 'requests that started after the cancel answered').to.equal(sentAtAnswer)
    for (const chronos of [a, b, c]) expect((await chronos.get(`/status?key=${jobId}`)).json.state).to.equal('cancelled')
  })

  it('paused through B, resumed through C: nothing starts while paused, then it completes with exact counts', async function () {
    const [a, b, c] = await startFleet() as [ChronosProcess, ChronosProcess, ChronosProcess]
    const total = 3000
    const jobId = await upload(a, total)
    await rig.target.waitForRequests(100, 10_000)

    const paused = await b.request('POST', `/jobs/${jobId}/pause`)
    expect(paused.status, paused.text).to.equal(200)
    expect(paused.json.state).to.equal('paused')
    const sentAtAnswer = requestsOf(jobId)
    await sleep(600)
    expect(requestsOf(jobId), 'requests that started while paused').to.equal(sentAtAnswer)

    const resumed = await c.request('POST', `/jobs/${jobId}/resume`)
    expect(resumed.status, resumed.text).to.equal(200)
    const done = await c.waitForState(jobId, ['completed'], 60_000)
    expect(done).to.include({ total, count: total, succeeded: total, failed: 0 })
    const ledger = expectEveryIdDelivered(rig.target.requests, jobId, total)
    expect(ledger.duplicates, 'a pause drains, so nothing is sent twice').to.equal(0)
  })

  it('an upload in progress on A survives B starting up on the same spool dir, and is accepted', async function () {
    const [a] = await startFleet(1) as [ChronosProcess]
    const total = 500
    const body = buildUpload(rig.target.port, makeRecords(total), { primarykey: uniquePrimaryKey() })
    const cut = body.indexOf('\n', Math.floor(body.length / 2)) + 1
    const answer = new Promise<{ status: number, json: any }>((resolve, reject) => {
      const upload = httpRequest(`${a.url}/run`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } }, (res) => {
        let text = ''
        res.on('data', (chunk: Buffer) => { text += chunk.toString() })
        res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }))
      })
      upload.on('error', reject)
      upload.write(body.slice(0, cut))
      // Half the upload is in A's spool dir as a partial file while B starts and sweeps.
      eventually(async () => expect((await a.spoolFiles()).filter((name) => name.endsWith('.partial'))).to.have.length(1))
        .then(async () => await startChronosProcess({ ...a.options, instanceId: `fleet-b-${randomUUID().slice(0, 8)}` }))
        .then(async (b) => {
          expect((await b.spoolFiles()).filter((name) => name.endsWith('.partial')), 'B kept A\'s upload').to.have.length(1)
          upload.end(body.slice(cut))
        })
        .catch(reject)
    })
    const { status, json } = await answer
    expect(status).to.equal(202)
    const done = await a.waitForState(json.job_id, ['completed'], 60_000)
    expect(done).to.include({ total, count: total, succeeded: total })
  })

  it('SIGKILL of the holder mid-job: a survivor takes it over within the lease plus 5 s, counts exact', async function () {
    const total = 10_000
    const { jobId, holder, survivors } = await fleetRunningJob(total, 1000)
    holder.kill('SIGKILL')
    await holder.waitForExit()
    const killedAtMs = Date.now()

    await holderOf(survivors, jobId)
    expect(Date.now() - killedAtMs, 'taken over within the lease plus 5 s').to.be.below(LEASE_MS + 5000)
    const done = await (survivors[0] as ChronosProcess).waitForState(jobId, ['completed'], 90_000)
    expect(done).to.include({ total, count: total, succeeded: total, failed: 0 })
    const ledger = expectEveryIdDelivered(rig.target.requests, jobId, total)
    expect(ledger.duplicates, 'at most the in-flight requests plus one unflushed batch').to.be.at.most(CONCURRENCY + OUTCOME_BATCH_SIZE)
  })

  it('SIGSTOP of the holder past its lease, then SIGCONT: the token stops the old holder, counts stay exact', async function () {
    const total = 6000
    const { jobId, holder, survivors } = await fleetRunningJob(total, 500)
    holder.kill('SIGSTOP')
    try {
      await holderOf(survivors, jobId)
      await sleep(500)
    } finally {
      holder.kill('SIGCONT')
    }
    await eventually(async () => expect((await holder.get('/info')).json.leases.fenced, 'runs stopped by a newer token').to.equal(1), 10_000)
    const done = await (survivors[0] as ChronosProcess).waitForState(jobId, ['completed'], 90_000)
    expect(done).to.include({ total, count: total, succeeded: total, failed: 0 })
    const ledger = expectEveryIdDelivered(rig.target.requests, jobId, total)
    // Counted once each however often sent: the status agrees with the ledger's distinct ids.
    expect(ledger.byId.size).to.equal(done.count)
  })

  it('the holder loses Redis for longer than its lease: it stops, another takes over, its late writes are refused', async function () {
    const prefix = uniquePrefix()
    const proxy = await startFreezableProxy(sharedRedis().host, sharedRedis().port)
    try {
      const env = { CHRONOS_LEASE_MS: String(LEASE_MS), CHRONOS_OUTCOME_BATCH_SIZE: String(OUTCOME_BATCH_SIZE) }
      const cut = await startChronosProcess({ redisUrl: proxy.url, prefix, spoolDir, instanceId: `cut-${randomUUID().slice(0, 8)}`, env })
      const total = 6000
      const jobId = await upload(cut, total)
      await rig.target.waitForRequests(300, 30_000)
      const survivor = await startChronosProcess({ redisUrl: sharedRedis().url, prefix, spoolDir, instanceId: `survivor-${randomUUID().slice(0, 8)}`, env })
      expect((await holderOf([cut, survivor], jobId)).instanceId).to.equal(cut.instanceId)

      proxy.freeze()
      await holderOf([survivor], jobId)
      proxy.thaw()
      await eventually(async () => expect((await cut.get('/info')).json.leases.fenced, 'the cut-off holder stopped the job').to.equal(1), 10_000)
      const done = await survivor.waitForState(jobId, ['completed'], 90_000)
      expect(done).to.include({ total, count: total, succeeded: total, failed: 0 })
      expect(expectEveryIdDelivered(rig.target.requests, jobId, total).byId.size).to.equal(done.count)
    } finally {
      await proxy.close()
    }
  })

  it('SIGTERM of one of three, each running a job: its job moves to the others within 2 s', async function () {
    const fleet = await startFleet()
    const jobs = [await upload(fleet[0] as ChronosProcess, 4000), await upload(fleet[1] as ChronosProcess, 4000), await upload(fleet[2] as ChronosProcess, 4000)]
    await rig.target.waitForRequests(300, 30_000)
    const holders = await Promise.all(jobs.map(async (jobId) => await holderOf(fleet, jobId)))
    const leaving = holders[0] as ChronosProcess
    const moving = jobs.filter((_, i) => holders[i] === leaving)
    const stayers = fleet.filter((chronos) => chronos !== leaving)

    leaving.kill('SIGTERM')
    const stoppedAtMs = Date.now()
    for (const jobId of moving) await holderOf(stayers, jobId)
    expect(Date.now() - stoppedAtMs, 'handed over, not waited out (the lease is longer)').to.be.below(2000)
    expect(await leaving.waitForExit(15_000)).to.equal(0)
    for (const jobId of jobs) {
      const done = await (stayers[0] as ChronosProcess).waitForState(jobId, ['completed'], 90_000)
      expect(done).to.include({ count: 4000, succeeded: 4000 })
    }
    for (const chronos of stayers) expect((await chronos.get('/info')).json.leases.takeovers, 'a hand-over is no takeover').to.equal(0)
  })
})
