// DESIGN §4 and issue 4: a Redis outage pauses progress writes and resumes them; it loses no
// outcome, counts none twice, and never crashes the process; uploads meanwhile get 503
// store_unavailable within about 2 s. Redis losing a job's state (a restart without
// persistence) makes the job say so (`state: failed`, `error.code: state_lost`); start-up
// warns when Redis may evict keys.
//
// Mechanisms under test:
//   - lib/store/redis.ts createRedis(): reconnects forever, commands wait in the offline
//     queue (maxRetriesPerRequest: null), so the process never sees an outage as fatal;
//     withStore(): request paths answer 503 at once when the connection is not ready;
//   - lib/pipeline/status-sink.ts #store(): a failed batch is retried until stored; a full
//     batch holds the sink's write callback, which is what backpressures the sender;
//   - lib/store/lua/record-outcomes-5.lua: SETBIT per record, so a batch re-sent by ioredis
//     after a reconnect, or retried by the sink, counts nothing twice; it returns -1 when the
//     job's meta hash is gone → StateLostError → lib/runner/job-runner.ts recordStateLost();
//   - lib/store/redis-checks.ts warnAboutRedisPolicy().
// The CLIENT KILL loop rarely cuts a connection between a script's execution and its reply;
// spec/helpers/redis-proxy.ts does that on purpose, so idempotency is proven every run.
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { Redis } from 'ioredis'
import { startChronosProcess, type ChronosProcess } from '../helpers/chronos-process.js'
import { useFaultRig } from '../helpers/fault-rig.js'
import { eventually, expectEndedJobKeys, expectEveryIdDelivered, keysWithTtl } from '../helpers/ledger.js'
import { buildUpload, makeRecords, uniquePrimaryKey } from '../helpers/ndjson.js'
import { startRedis, type RedisHandle } from '../helpers/redis.js'
import { startRedisProxy } from '../helpers/redis-proxy.js'

const TOTAL = 3000
const CONCURRENCY = 16
const OUTCOME_BATCH_SIZE = 50
const TARGET_DELAY_MS = 10
const OUTAGE_MS = 2000

/**
 * While Redis is away no outcome can be stored, so the sender may only run ahead by what the
 * pipeline buffers between "request sent" and "outcome stored": `concurrency` in flight, the
 * sender's readable buffer (max(16, concurrency)) plus what in-flight requests push past it
 * (`concurrency`), the sink's writable buffer (one batch) and the batch held while it is
 * stored (up to two batches, as _writev takes whatever is buffered). Generously rounded up.
 */
const MAX_SENT_WHILE_AWAY = 4 * CONCURRENCY + 4 * OUTCOME_BATCH_SIZE

const POLICY_WARNING = /maxmemory-policy/

describe('Redis outage', function () {
  this.timeout(60_000)
  const rig = useFaultRig({ targetDelayMs: TARGET_DELAY_MS })

  async function start (redisUrl: string): Promise<ChronosProcess> {
    return await startChronosProcess({ redisUrl, env: { CHRONOS_OUTCOME_BATCH_SIZE: String(OUTCOME_BATCH_SIZE) } })
  }

  async function submit (chronos: ChronosProcess, total = TOTAL): Promise<{ jobId: string, primarykey: string }> {
    const primarykey = uniquePrimaryKey()
    const answer = await chronos.upload(buildUpload(rig.target.port, makeRecords(total), { primarykey, concurrency: CONCURRENCY }))
    expect(answer.status, answer.text).to.equal(202)
    return { jobId: answer.json.job_id, primarykey }
  }

  /** Polls the job's status in the background; `stop()` resolves with the highest count seen. */
  function watchCount (chronos: ChronosProcess, jobId: string): { stop: () => Promise<number> } {
    const stopped = new AbortController()
    let maxCount = 0
    const loop = (async () => {
      while (!stopped.signal.aborted) {
        try {
          const answer = await chronos.get(`/status?key=${jobId}`)
          if (answer.status === 200) maxCount = Math.max(maxCount, answer.json.count)
        } catch {}
        await sleep(25)
      }
    })()
    return {
      stop: async () => {
        stopped.abort()
        await loop
        return maxCount
      }
    }
  }

  describe('with an append-only Redis', function () {
    let redis: RedisHandle

    before(async function () {
      redis = await startRedis({ appendOnly: true })
    })

    after(async function () {
      await redis.stop()
    })

    it('stopped mid-job for 2 s: the process lives on, uploads get 503 meanwhile, the job completes with exact counts', async function () {
      const chronos = await start(redis.url)
      const { jobId, primarykey } = await submit(chronos)
      const watcher = watchCount(chronos, jobId)
      await rig.target.waitForRequests(500, 30_000)

      await redis.stop()
      const outageStartedAt = performance.now()
      const lateKey = uniquePrimaryKey()
      const askedAt = performance.now()
      const late = await chronos.upload(buildUpload(rig.target.port, makeRecords(5), { primarykey: lateKey }))
      const answeredInMs = performance.now() - askedAt
      expect(late.status, late.text).to.equal(503)
      expect(late.json.error.code).to.equal('store_unavailable')
      expect(answeredInMs, 'DESIGN §1: answered within about 2 s, never a hang').to.be.below(2500)
      expect((await chronos.spoolFiles()).sort(), 'the refused upload left a spool file').to.deep.equal([`${jobId}.ndjson`, `${jobId}.receipt.json`])
      await sleep(Math.max(0, OUTAGE_MS - (performance.now() - outageStartedAt)))
      expect(chronos.isRunning, `the process is alive after the outage${chronos.tail()}`).to.equal(true)
      await redis.start()

      const status = await chronos.waitForState(jobId, undefined, 60_000)
      const maxCountSeen = await watcher.stop()
      expect(status).to.include({ state: 'completed', total: TOTAL, count: TOTAL, succeeded: TOTAL, failed: 0, pending: 0 })
      expect(maxCountSeen, 'highest count ever reported').to.be.at.most(TOTAL)
      expect(chronos.isRunning).to.equal(true)
      expectEveryIdDelivered(rig.target.requests, jobId, TOTAL)
      await eventually(async () => expect(await chronos.spoolFiles()).to.deep.equal([]))
      // The refused upload left nothing either: only the job's own keys are there.
      await expectEndedJobKeys(redis.url, chronos.prefix, jobId, primarykey)
      // With maxmemory-policy noeviction (the default) there is nothing to warn about.
      expect(chronos.logs.filter((line) => line.level === 40 && POLICY_WARNING.test(line.msg ?? ''))).to.deep.equal([])
    })

    it('stopped mid-job: dispatch pauses while Redis is away instead of queueing outcomes in memory', async function () {
      const chronos = await start(redis.url)
      const { jobId } = await submit(chronos)
      await rig.target.waitForRequests(500, 30_000)

      await redis.stop()
      // Let what was already under way settle, then count what starts while Redis stays away.
      await sleep(300)
      const sentAtOutage = rig.target.requests.length
      await sleep(OUTAGE_MS)
      const sentWhileAway = rig.target.requests.length - sentAtOutage
      await redis.start()

      const status = await chronos.waitForState(jobId, undefined, 60_000)
      expect(status).to.include({ state: 'completed', count: TOTAL, succeeded: TOTAL })
      expect(sentWhileAway, `requests started while Redis was away (${sentAtOutage} before)`).to.be.at.most(MAX_SENT_WHILE_AWAY)
    })

    it('connections killed every 100 ms during a job (CLIENT KILL): counts exact', async function () {
      const chronos = await start(redis.url)
      // Submitted first: an upload that meets a killed connection rightly gets 503.
      const { jobId, primarykey } = await submit(chronos)
      const watcher = watchCount(chronos, jobId)
      const killer = new Redis(redis.url, { maxRetriesPerRequest: null, retryStrategy: () => 50 })
      const stopKilling = new AbortController()
      let killed = 0
      const loop = (async () => {
        while (!stopKilling.signal.aborted) {
          try {
            // Every normal client but this one (SKIPME yes): Chronos's connection included.
            killed += Number(await killer.call('CLIENT', 'KILL', 'TYPE', 'normal'))
          } catch {}
          await sleep(100)
        }
      })()
      try {
        const status = await chronos.waitForState(jobId, undefined, 60_000)
        stopKilling.abort()
        await loop
        const maxCountSeen = await watcher.stop()
        expect(killed, 'connections killed').to.be.greaterThan(0)
        expect(status).to.include({ state: 'completed', total: TOTAL, count: TOTAL, succeeded: TOTAL, failed: 0, pending: 0 })
        expect(maxCountSeen).to.be.at.most(TOTAL)
        expect(chronos.isRunning).to.equal(true)
        expectEveryIdDelivered(rig.target.requests, jobId, TOTAL)
        await eventually(async () => expect(await chronos.spoolFiles()).to.deep.equal([]))
        await expectEndedJobKeys(redis.url, chronos.prefix, jobId, primarykey)
      } finally {
        stopKilling.abort()
        await loop
        await watcher.stop()
        killer.disconnect()
      }
    })

    it('replies lost after a batch was applied (connection cut between execution and reply): nothing counted twice', async function () {
      const proxy = await startRedisProxy(redis.host, redis.port)
      try {
        const chronos = await start(proxy.url)
        const { jobId, primarykey } = await submit(chronos)
        const watcher = watchCount(chronos, jobId)
        // Every third outcome batch: applied by Redis, its reply lost, re-sent by ioredis.
        proxy.cutEvery(3)
        const status = await chronos.waitForState(jobId, undefined, 60_000)
        proxy.cutEvery(null)
        const maxCountSeen = await watcher.stop()
        expect(proxy.cuts, 'connections cut after an applied batch').to.be.greaterThan(0)
        expect(status).to.include({ state: 'completed', total: TOTAL, count: TOTAL, succeeded: TOTAL, failed: 0, pending: 0 })
        expect(maxCountSeen).to.be.at.most(TOTAL)
        expect(chronos.isRunning).to.equal(true)
        expectEveryIdDelivered(rig.target.requests, jobId, TOTAL)
        await eventually(async () => expect(await chronos.spoolFiles()).to.deep.equal([]))
        await expectEndedJobKeys(redis.url, chronos.prefix, jobId, primarykey)
      } finally {
        await proxy.close()
      }
    })
  })

  describe('with a Redis without persistence', function () {
    let redis: RedisHandle

    before(async function () {
      redis = await startRedis({ appendOnly: false })
    })

    after(async function () {
      await redis.stop()
    })

    it('restarted mid-job (its data gone): the job ends `failed` with error.code state_lost', async function () {
      const chronos = await start(redis.url)
      const { jobId, primarykey } = await submit(chronos)
      await rig.target.waitForRequests(500, 30_000)
      await redis.restart()

      const status = await chronos.waitForState(jobId, ['completed', 'failed', 'cancelled'], 60_000)
      expect(status.state, JSON.stringify(status)).to.equal('failed')
      expect(status.error?.code).to.equal('state_lost')
      expect(status.total).to.equal(TOTAL)
      expect(chronos.isRunning).to.equal(true)
      expect((await chronos.get(`/status?key=${primarykey}`)).json.job_id, 'the primarykey still finds the job').to.equal(jobId)
      await eventually(async () => expect(await chronos.spoolFiles()).to.deep.equal([]))
      await expectEndedJobKeys(redis.url, chronos.prefix, jobId, primarykey)
    })

    it('warns at start-up when maxmemory-policy is not noeviction', async function () {
      const admin = new Redis(redis.url, { maxRetriesPerRequest: 3 })
      try {
        await admin.config('SET', 'maxmemory-policy', 'allkeys-lru')
        const chronos = await start(redis.url)
        const warning = await chronos.waitForLog((line) => line.level === 40 && POLICY_WARNING.test(line.msg ?? ''), 10_000)
        expect(warning.policy).to.equal('allkeys-lru')
        expect([...(await keysWithTtl(redis.url, chronos.prefix)).keys()]).to.deep.equal([])
      } finally {
        await admin.config('SET', 'maxmemory-policy', 'noeviction')
        admin.disconnect()
      }
    })
  })
})
