// The Redis client layer on a real three-master Redis Cluster: createRedis() builds a
// cluster client from CHRONOS_REDIS_CLUSTER_NODES, every store method runs on it (a MULTI or
// script spanning two slots would fail here with CROSSSLOT), the probe and the start-up
// policy check ask every master, duplicateRedis() gives a working pub/sub subscriber, and
// quitRedis() closes it all. The last test stops a master, so it runs last.
import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import { once } from 'node:events'
import { expect } from 'chai'
import { Cluster, Redis as IORedis } from 'ioredis'
import { loadConfig } from '../../lib/config.js'
import { createLogger } from '../../lib/logger.js'
import { JobStore, type NewJob } from '../../lib/store/job-store.js'
import { Keys } from '../../lib/store/keys.js'
import { OutcomeStore } from '../../lib/store/outcome-store.js'
import { LeaseStore } from '../../lib/store/lease-store.js'
import { warnAboutRedisPolicy } from '../../lib/store/redis-checks.js'
import { createRedis, duplicateRedis, failFast, isReady, probeRedis, quitRedis, waitUntilReady, type Redis } from '../../lib/store/redis.js'
import { JobConflictError } from '../../lib/errors.js'
import { uniquePrefix, type RedisHandle } from '../helpers/redis.js'
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js'

function newJob (primaryKey: string, fields: Partial<NewJob> = {}): NewJob {
  const jobId = `job-${randomUUID()}`
  return {
    jobId,
    primaryKey,
    specJson: '{}',
    total: 3,
    spoolPath: `/tmp/${jobId}.ndjson`,
    instanceId: 'instance-a',
    submittedAt: new Date().toISOString(),
    owner: '',
    ...fields
  }
}

const outcome = (index: number, ok: boolean): string =>
  OutcomeStore.pack({ index, idJson: String(index + 1), ok, status: ok ? 200 : 500, attempts: 1, timeMs: 5, error: ok ? null : 'http_status' })

describe('the Redis client on Redis Cluster', function () {
  this.timeout(30_000)
  let cluster: RedisClusterHandle
  let redis: Redis

  before(async function () {
    cluster = await startRedisCluster()
    redis = createRedis(loadConfig({ CHRONOS_REDIS_CLUSTER_NODES: cluster.nodeList }).redis, 'chronos:spec')
    expect(await waitUntilReady(redis, 10_000)).to.equal(true)
  })

  after(async function () {
    await quitRedis(redis)
    await cluster?.stop()
  })

  it('is a cluster client, ready, and a probe hears every master', async function () {
    expect(redis).to.be.instanceOf(Cluster)
    expect(isReady(redis)).to.equal(true)
    expect((redis as Cluster).nodes('master')).to.have.length(3)
    expect(await probeRedis(redis)).to.equal(true)
  })

  it('refuses a MULTI across two slots, so the specs below would catch one', async function () {
    await expect(redis.multi().set('{a}x', '1').set('{b}x', '1').exec()).to.be.rejected
  })

  it('runs every store method: one job\'s MULTIs and scripts stay in its slot', async function () {
    const keys = new Keys(uniquePrefix())
    const jobs = failFast(redis, new JobStore(redis, keys, 600))
    const outcomes = failFast(redis, new OutcomeStore(redis, keys))
    const job = newJob('batch-a')
    await jobs.create(job)
    expect(await jobs.findLive('', 'batch-a')).to.equal(job.jobId)
    await expect(jobs.create(newJob('batch-a'))).to.be.rejectedWith(JobConflictError)
    await jobs.markRunning(job.jobId, new Date().toISOString())
    expect(await jobs.openRun(job.jobId)).to.equal(0)
    expect(await outcomes.write(job.jobId, outcome(0, true) + outcome(1, false))).to.equal(2)
    expect(await outcomes.write(job.jobId, outcome(0, true)), 'a replayed outcome').to.equal(0)
    expect([...await outcomes.readDoneBits(job.jobId, 0, 1)]).to.deep.equal([0b1100_0000])
    expect([...await outcomes.readFailedBits(job.jobId, 0, 1)]).to.deep.equal([0b0100_0000])
    expect(await outcomes.countResultBatches(job.jobId)).to.equal(1)
    expect(await outcomes.readResultBatches(job.jobId, 0, 10)).to.have.length(1)
    await jobs.closeRun(job.jobId)
    await jobs.setLiveState(job.jobId, 'paused')
    // Leases: one script per call on the job's slot, the queue and lease list on their own.
    const leases = new LeaseStore(redis, keys, 10_000)
    await leases.enqueue(job.jobId, 1)
    expect(await leases.queued(10)).to.deep.equal([job.jobId])
    const lease = await leases.acquire(job.jobId, 'instance-a')
    if (typeof lease === 'string') throw new Error(`lease ${lease}`)
    expect(await leases.acquire(job.jobId, 'instance-b')).to.equal('held')
    await leases.setControl(job.jobId, 'pause')
    expect(await leases.renew(lease)).to.equal('pause')
    expect(await outcomes.write(job.jobId, outcome(2, true), lease.fence)).to.equal(1)
    expect((await leases.holder(job.jobId))?.instanceId).to.equal('instance-a')
    expect(await leases.expired(10, Date.now() + 60_000)).to.deep.equal([job.jobId])
    await leases.setControl(job.jobId, null)
    await leases.release(lease)
    expect(await leases.holder(job.jobId)).to.equal(null)
    await jobs.finish(job.jobId, 'completed')
    expect((await jobs.readStates(job.jobId, 0)).map((entry) => entry.state)).to.deep.equal(['queued', 'running', 'paused', 'completed'])
    expect((await jobs.get(job.jobId))?.counts).to.include({ count: 3, succeeded: 2, failed: 1 })
    expect(await jobs.findLive('', 'batch-a')).to.equal(null)
    expect(await jobs.resolve('batch-a', '')).to.equal(job.jobId)

    // The primarykey moves on to a new job, which is then discarded: `latest` goes back.
    const next = newJob('batch-a')
    await jobs.create(next)
    expect(await jobs.resolve('batch-a', '')).to.equal(next.jobId)
    await jobs.discard(next.jobId, 'batch-a', '')
    expect(await jobs.resolve('batch-a', '')).to.equal(job.jobId)

    // A live pointer left naming a finished job is taken over by compare-and-set (a script).
    await redis.set(keys.liveByPrimaryKey('', 'batch-b'), job.jobId)
    const third = newJob('batch-b')
    await jobs.create(third)
    expect(await jobs.findLive('', 'batch-b')).to.equal(third.jobId)
    await jobs.recordStateLost(third.jobId, 'batch-b', 'instance-a', '', 3)
    expect((await jobs.get(third.jobId))?.meta.error?.code).to.equal('state_lost')

    expect(await jobs.countJobs()).to.equal(2)
    expect((await jobs.listRecent(0, 10)).map((listed) => listed.meta.jobId)).to.have.members([job.jobId, third.jobId])
    expect((await jobs.list({ owner: '', limit: 10 })).jobs).to.have.length(2)
  })

  it('duplicates the client into a subscriber of the same kind that hears a publish', async function () {
    const subscriber = duplicateRedis(redis, 'chronos:spec:subscriber')
    try {
      expect(subscriber).to.be.instanceOf(Cluster)
      expect((subscriber as Cluster).options.redisOptions?.connectionName).to.equal('chronos:spec:subscriber')
      const channel = `${uniquePrefix()}:control`
      await subscriber.subscribe(channel)
      const heard = once(subscriber, 'message')
      await redis.publish(channel, 'pause job-1')
      expect(await heard).to.deep.equal([channel, 'pause job-1'])
    } finally {
      await quitRedis(subscriber)
    }
  })

  it('warns about an evicting maxmemory-policy on any master, naming it', async function () {
    const lines: Array<Record<string, unknown>> = []
    const sink = new Writable({ write (chunk: Buffer, _encoding, done) { lines.push(JSON.parse(chunk.toString())); done() } })
    const evicting = cluster.nodes[0] as RedisHandle
    const node = new IORedis(evicting.url)
    try {
      await node.config('SET', 'maxmemory-policy', 'allkeys-lru')
      await warnAboutRedisPolicy(redis, createLogger({ level: 'warn' }, sink))
      await node.config('SET', 'maxmemory-policy', 'noeviction')
    } finally {
      node.disconnect()
    }
    expect(lines.map((line) => [line.policy, line.node])).to.deep.equal([['allkeys-lru', `127.0.0.1:${evicting.port}`]])
  })

  it('probes false once a master stops answering', async function () {
    await cluster.nodes[1]?.stop()
    expect(await probeRedis(redis)).to.equal(false)
  })
})
