// Chronos on a real three-master Redis Cluster (DESIGN §7: CHRONOS_REDIS_CLUSTER_NODES):
// the seed example, a 100,000-record job counted exactly (checked against the target's own
// ledger), a cancel and a pause + resume, each through the HTTP API of an in-process
// Chronos whose only Redis is the cluster. A MULTI or script that spanned two slots would
// fail here with CROSSSLOT; on one Redis it would pass unnoticed.
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { prefixKeys, startChronos, type Chronos } from '../helpers/chronos.js'
import { startTarget, type Target, type TargetScript } from '../helpers/target.js'
import { buildUpload, makeRecords, seedExample } from '../helpers/ndjson.js'
import { expectEveryIdDelivered } from '../helpers/ledger.js'
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js'

describe('Chronos on Redis Cluster', function () {
  this.timeout(60_000)
  let cluster: RedisClusterHandle
  let chronos: Chronos
  let target: Target

  before(async function () {
    cluster = await startRedisCluster()
  })

  after(async function () {
    await cluster?.stop()
  })

  async function start (script?: TargetScript): Promise<void> {
    target = await startTarget(script)
    chronos = await startChronos({ CHRONOS_REDIS_CLUSTER_NODES: cluster.nodeList })
  }

  afterEach(async function () {
    await chronos?.cleanup()
    await target?.close()
  })

  async function submit (upload: string): Promise<string> {
    const answer = await chronos.upload(upload)
    expect(answer.status, answer.text).to.equal(202)
    return answer.json.job_id
  }

  it('says so on /info and is ready', async function () {
    await start()
    expect((await chronos.get('/info')).json.redis).to.deep.equal({ reachable: true, cluster: true })
    expect((await chronos.get('/readyz')).status).to.equal(200)
  })

  it('delivers the seed example, and keeps a job\'s keys in one slot while the index and pointers live elsewhere', async function () {
    await start()
    const jobId = await submit(await seedExample(target.port))
    const status = await chronos.waitForState(jobId)
    expect(status).to.include({ state: 'completed', total: 4, count: 4, succeeded: 4, failed: 0, pending: 0 })
    expect(target.requests.map((req) => req.recordId).sort()).to.deep.equal(['1', '2', '3', '4'])

    const keys = await prefixKeys(chronos)
    const jobKeys = keys.filter((key) => key.includes(`{${jobId}}`))
    expect(jobKeys.length, keys.join(' ')).to.be.above(2)
    const slots = async (list: string[]): Promise<Set<number>> =>
      new Set(await Promise.all(list.map(async (key) => await chronos.redis.cluster('KEYSLOT', key) as number)))
    expect((await slots(jobKeys)).size, 'slots of one job\'s keys').to.equal(1)
    expect((await slots(keys)).size, 'slots of every key: the index and the primarykey pointers sit elsewhere').to.be.above(1)
  })

  it('runs a 100,000-record job to exact counts, as the target\'s ledger has them', async function () {
    this.timeout(180_000)
    await start()
    const total = 100_000
    const jobId = await submit(buildUpload(target.port, makeRecords(total), { concurrency: 64 }))
    const status = await chronos.waitForState(jobId, undefined, 150_000)
    expect(status).to.include({ state: 'completed', total, count: total, succeeded: total, failed: 0, pending: 0 })
    const ledger = expectEveryIdDelivered(target.requests, jobId, total)
    expect(ledger.duplicates, 'records sent twice').to.equal(0)
  })

  it('cancels a running job: nothing is sent after the answer', async function () {
    await start(() => ({ delayMs: 50 }))
    const total = 2000
    const jobId = await submit(buildUpload(target.port, makeRecords(total), { concurrency: 4 }))
    await target.waitForRequests(20, 10_000)
    const answer = await chronos.del(`/jobs/${jobId}`)
    const sentAtAnswer = target.requests.length
    expect(answer.status, answer.text).to.equal(200)
    expect(answer.json).to.include({ state: 'cancelled', total })
    await sleep(500)
    expect(target.requests.length, 'requests sent after the cancel answer').to.equal(sentAtAnswer)
    const status = (await chronos.get(`/jobs/${jobId}`)).json
    expect(status).to.include({ state: 'cancelled', count: answer.json.count, unsent: total - answer.json.count })
    expect(status.count).to.equal(status.succeeded + status.failed)
    expect(status.unsent).to.be.above(0)
  })

  it('pauses and resumes a job to exact counts', async function () {
    await start(() => ({ delayMs: 50 }))
    const total = 400
    const jobId = await submit(buildUpload(target.port, makeRecords(total), { concurrency: 4 }))
    await target.waitForRequests(20, 10_000)
    const paused = await chronos.post(`/jobs/${jobId}/pause`)
    expect(paused.status, paused.text).to.equal(200)
    expect(paused.json.state).to.equal('paused')
    const sentAtAnswer = target.requests.length
    await sleep(500) // the requests in flight at the answer (50 ms each) finish
    const sentWhenSettled = target.requests.length
    expect(sentWhenSettled - sentAtAnswer, 'more than the in-flight requests arrived after the answer').to.be.at.most(4)
    await sleep(500)
    expect(target.requests.length, 'requests started while paused').to.equal(sentWhenSettled)
    expect((await chronos.get(`/jobs/${jobId}`)).json).to.include({ state: 'paused', count: sentWhenSettled })

    const resumed = await chronos.post(`/jobs/${jobId}/resume`)
    expect(resumed.status, resumed.text).to.equal(200)
    const status = await chronos.waitForState(jobId, undefined, 30_000)
    expect(status).to.include({ state: 'completed', total, count: total, succeeded: total, failed: 0, pending: 0 })
    const ledger = expectEveryIdDelivered(target.requests, jobId, total)
    expect(ledger.duplicates, 'records sent twice').to.equal(0)
  })
})
