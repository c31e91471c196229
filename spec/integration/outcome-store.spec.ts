// OutcomeStore and JobStore against the shared Redis: exact, idempotent counts (DESIGN §4),
// the done bitmap used on resume, compact per-record results, and the job registry.
import { randomUUID } from 'node:crypto'
import { expect } from 'chai'
import { Redis } from 'ioredis'
import { JobConflictError } from '../../lib/errors.js'
import type { Outcome } from '../../lib/domain/outcome.js'
import { latencyBucket } from '../../lib/domain/latency-histogram.js'
import { JobStore, type NewJob } from '../../lib/store/job-store.js'
import { Keys } from '../../lib/store/keys.js'
import { OutcomeStore, StateLostError } from '../../lib/store/outcome-store.js'
import { deleteKeysWithPrefix, sharedRedis, uniquePrefix } from '../helpers/redis.js'

const TTL_SECONDS = 3600

let submitted = Date.parse('2024-05-01T10:00:00.000Z')

function newJob (fields: Partial<NewJob> = {}): NewJob {
  const jobId = fields.jobId ?? `job-${randomUUID()}`
  submitted += 1000
  return {
    jobId,
    primaryKey: 'batch-001',
    specJson: '{"primarykey":"batch-001","protocol":"http","host":"127.0.0.1","port":80,"path":"/"}',
    total: 100,
    spoolPath: `/tmp/spool/${jobId}.ndjson`,
    instanceId: 'instance-a',
    submittedAt: new Date(submitted).toISOString(),
    owner: '',
    ...fields
  }
}

function outcome (index: number, fields: Partial<Outcome> = {}): Outcome {
  return { index, idJson: String(index + 1), ok: true, status: 200, attempts: 1, timeMs: 10, error: null, ...fields }
}

function pack (outcomes: readonly Outcome[]): string {
  return outcomes.map((o) => OutcomeStore.pack(o)).join('')
}

function range (from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i)
}

describe('OutcomeStore', () => {
  let prefix: string
  let redis: Redis
  let keys: Keys
  let jobs: JobStore
  let store: OutcomeStore

  beforeEach(() => {
    prefix = uniquePrefix()
    redis = new Redis(sharedRedis().url, { maxRetriesPerRequest: 1 })
    keys = new Keys(prefix)
    jobs = new JobStore(redis, keys, TTL_SECONDS)
    store = new OutcomeStore(redis, keys)
  })

  afterEach(async () => {
    await deleteKeysWithPrefix(sharedRedis().url, prefix)
    redis.disconnect()
  })

  async function createdJob (): Promise<string> {
    const job = newJob({ primaryKey: `pk-${randomUUID()}` })
    await jobs.create(job)
    return job.jobId
  }

  async function counts (jobId: string): Promise<Record<string, string>> {
    return await redis.hgetall(keys.counts(jobId))
  }

  describe('write()', () => {
    it('counts a batch and returns how many it counted', async () => {
      const jobId = await createdJob()
      const batch = [
        outcome(0, { timeMs: 12.5 }),
        outcome(1, { timeMs: 40 }),
        outcome(2, { ok: false, status: 503, attempts: 3, timeMs: 7.25, error: 'http_status', snippet: 'busy' }),
        outcome(3, { ok: false, status: null, attempts: 2, timeMs: 30_000, error: 'timeout' })
      ]
      expect(await store.write(jobId, pack(batch))).to.equal(4)
      const stored = await counts(jobId)
      expect(stored).to.include({ count: '4', succeeded: '2', failed: '2', retries: '3', time_min: '7.25', time_max: '30000' })
      expect(Number(stored.time_sum)).to.be.closeTo(12.5 + 40 + 7.25 + 30_000, 1e-9)
    })

    it('counts statuses under s:<status>, reasons under e:<reason> and latencies under h:<bucket>', async () => {
      const jobId = await createdJob()
      const batch = [
        outcome(0, { timeMs: 0.4 }),
        outcome(1, { status: 201, timeMs: 100 }),
        outcome(2, { timeMs: 100 }),
        outcome(3, { ok: false, status: 404, timeMs: 3, error: 'http_status' }),
        outcome(4, { ok: false, status: null, timeMs: 1000, error: 'connect_error' }),
        outcome(5, { ok: false, status: null, timeMs: 1000, error: 'connect_error' })
      ]
      await store.write(jobId, pack(batch))
      const stored = await counts(jobId)
      const fields = (start: string): Record<string, string> =>
        Object.fromEntries(Object.entries(stored).filter(([field]) => field.startsWith(start)))
      expect(fields('s:')).to.deep.equal({ 's:200': '2', 's:201': '1', 's:404': '1' })
      expect(fields('e:')).to.deep.equal({ 'e:http_status': '1', 'e:connect_error': '2' })
      expect(fields('h:')).to.deep.equal({
        [`h:${latencyBucket(0.4)}`]: '1',
        [`h:${latencyBucket(100)}`]: '2',
        [`h:${latencyBucket(3)}`]: '1',
        [`h:${latencyBucket(1000)}`]: '2'
      })
    })

    it('changes no count when the same batch is applied twice', async () => {
      const jobId = await createdJob()
      const packed = pack(range(0, 50).map((i) => outcome(i, { ok: i % 5 !== 0, status: i % 5 === 0 ? 500 : 200, attempts: 1 + (i % 3), timeMs: i + 0.5, error: i % 5 === 0 ? 'http_status' : null })))
      expect(await store.write(jobId, packed)).to.equal(50)
      const first = await counts(jobId)
      expect(await store.write(jobId, packed)).to.equal(0)
      expect(await counts(jobId)).to.deep.equal(first)
      expect(await store.countResultBatches(jobId)).to.equal(1)
    })

    it('counts each record once across overlapping batches', async () => {
      const jobId = await createdJob()
      expect(await store.write(jobId, pack(range(0, 6).map((i) => outcome(i))))).to.equal(6)
      expect(await store.write(jobId, pack(range(3, 9).map((i) => outcome(i, { ok: false, status: 502, error: 'http_status' }))))).to.equal(3)
      const stored = await counts(jobId)
      // Records 3..5 keep their first outcome; only 6..8 are new.
      expect(stored).to.include({ count: '9', succeeded: '6', failed: '3', 's:200': '6', 's:502': '3' })
      const results = (await store.readResultBatches(jobId, 0, 10)).flatMap((batch) => batch.split('\n'))
      expect(results).to.have.length(9)
    })

    it('counts a record once when it appears twice in one batch', async () => {
      const jobId = await createdJob()
      expect(await store.write(jobId, pack([outcome(7), outcome(7, { ok: false, status: 500, error: 'http_status' })]))).to.equal(1)
      expect(await counts(jobId)).to.include({ count: '1', succeeded: '1', failed: '0' })
    })

    it('keeps min and max time over every batch', async () => {
      const jobId = await createdJob()
      await store.write(jobId, pack([outcome(0, { timeMs: 5 }), outcome(1, { timeMs: 10 })]))
      await store.write(jobId, pack([outcome(2, { timeMs: 2.5 }), outcome(3, { timeMs: 50.75 })]))
      await store.write(jobId, pack([outcome(4, { timeMs: 7 })]))
      const stored = await counts(jobId)
      expect(stored).to.include({ time_min: '2.5', time_max: '50.75' })
      expect(Number(stored.time_sum)).to.be.closeTo(5 + 10 + 2.5 + 50.75 + 7, 1e-9)
    })

    it('stores times rounded to 0.01 ms', async () => {
      const jobId = await createdJob()
      await store.write(jobId, pack([outcome(0, { timeMs: 1.23456 })]))
      expect(await counts(jobId)).to.include({ time_min: '1.23', time_max: '1.23' })
    })

    it('counts retries as attempts beyond the first, summed', async () => {
      const jobId = await createdJob()
      await store.write(jobId, pack([outcome(0, { attempts: 1 }), outcome(1, { attempts: 3 }), outcome(2, { attempts: 10 })]))
      expect(await counts(jobId)).to.include({ retries: String(0 + 2 + 9) })
    })

    it('counts no retries for an invalid record, which had no attempt', async () => {
      const jobId = await createdJob()
      // The sender's outcome for an invalid line: attempts 0 (lib/pipeline/sender.ts).
      const invalid: Outcome = { index: 1, idJson: 'null', ok: false, status: null, attempts: 0, timeMs: 0, error: 'invalid_record' }
      await store.write(jobId, pack([outcome(0, { attempts: 2 }), invalid]))
      expect(await counts(jobId)).to.include({ count: '2', failed: '1', 'e:invalid_record': '1', retries: '1' })
    })

    it('throws state_lost when the job meta hash is gone, and writes nothing', async () => {
      const jobId = await createdJob()
      await redis.del(keys.meta(jobId))
      const write = store.write(jobId, pack([outcome(0)]))
      await expect(write).to.be.rejectedWith(StateLostError)
      const err = await write.catch((error: unknown) => error)
      expect(err).to.have.property('code', 'state_lost')
      expect(await redis.exists(keys.done(jobId), keys.results(jobId))).to.equal(0)
    })

    it('throws state_lost for a job that was never created', async () => {
      const err = await store.write(`job-${randomUUID()}`, pack([outcome(0)])).catch((error: unknown) => error)
      expect(err).to.have.property('code', 'state_lost')
    })

    it('refuses a malformed batch and counts none of it', async () => {
      const jobId = await createdJob()
      const packed = OutcomeStore.pack(outcome(0)) + 'not\ta\tpacked\toutcome\n'
      await expect(store.write(jobId, packed)).to.be.rejectedWith(/malformed outcome/)
      expect(await counts(jobId)).to.include({ count: '0' })
      // A record marked done without being counted could never be counted again.
      expect(await redis.getbit(keys.done(jobId), 0)).to.equal(0)
    })
  })

  describe('readDoneBits()', () => {
    it('returns the done bitmap, most significant bit first', async () => {
      const jobId = await createdJob()
      await store.write(jobId, pack([0, 3, 9, 17, 23].map((i) => outcome(i))))
      const bits = await store.readDoneBits(jobId, 0, 3)
      expect([...bits]).to.deep.equal([0b1001_0000, 0b0100_0000, 0b0100_0001])
    })

    it('starts at the byte holding firstIndex', async () => {
      const jobId = await createdJob()
      await store.write(jobId, pack([0, 17, 23, 24].map((i) => outcome(i))))
      expect([...await store.readDoneBits(jobId, 16, 2)]).to.deep.equal([0b0100_0001, 0b1000_0000])
      expect([...await store.readDoneBits(jobId, 19, 1)]).to.deep.equal([0b0100_0001])
    })

    it('returns fewer bytes (or none) past the end of the bitmap', async () => {
      const jobId = await createdJob()
      await store.write(jobId, pack([outcome(2)]))
      expect([...await store.readDoneBits(jobId, 0, 8192)]).to.deep.equal([0b0010_0000])
      expect(await store.readDoneBits(jobId, 800, 16)).to.have.length(0)
      expect(await store.readDoneBits(`job-${randomUUID()}`, 0, 16)).to.have.length(0)
    })
  })

  describe('readFailedBits()', () => {
    it('marks newly counted failures only, most significant bit first', async () => {
      const jobId = await createdJob()
      const failure = { ok: false, status: 500, error: 'http_status' } as const
      await store.write(jobId, pack([outcome(0), outcome(1, failure), outcome(9, { ...failure, status: null, error: 'timeout' })]))
      // A replayed batch where record 0 now "failed" changes nothing: its first outcome stands.
      await store.write(jobId, pack([outcome(0, failure)]))
      expect([...await store.readFailedBits(jobId, 0, 2)]).to.deep.equal([0b0100_0000, 0b0100_0000])
    })
  })

  describe('results', () => {
    async function results (jobId: string, filter: 'failed' | 'succeeded' | null): Promise<Array<Record<string, unknown>>> {
      const total = await store.countResultBatches(jobId)
      const lines: Array<Record<string, unknown>> = []
      for (const batch of await store.readResultBatches(jobId, 0, total)) {
        for (const stored of batch.split('\n')) {
          const json = OutcomeStore.resultToJson(stored, filter)
          if (json === null) continue
          expect(json.endsWith('\n'), 'one NDJSON line').to.equal(true)
          expect(json.slice(0, -1)).to.not.include('\n')
          lines.push(JSON.parse(json) as Record<string, unknown>)
        }
      }
      return lines
    }

    it('decodes each stored result to its NDJSON line', async () => {
      const jobId = await createdJob()
      await store.write(jobId, pack([
        outcome(0, { idJson: '"abc"', timeMs: 12.345 }),
        outcome(1, { idJson: '42', ok: false, status: 503, attempts: 3, timeMs: 8, error: 'http_status', snippet: '{"error":"busy"}' }),
        outcome(2, { idJson: '"7"', ok: false, status: null, attempts: 2, timeMs: 30000, error: 'timeout' })
      ]))
      expect(await results(jobId, null)).to.deep.equal([
        { id: 'abc', ok: true, status: 200, attempts: 1, time_ms: 12.35, error: null },
        { id: 42, ok: false, status: 503, attempts: 3, time_ms: 8, error: 'http_status', response: '{"error":"busy"}' },
        { id: '7', ok: false, status: null, attempts: 2, time_ms: 30000, error: 'timeout' }
      ])
    })

    it('filters failed and succeeded records', async () => {
      const jobId = await createdJob()
      await store.write(jobId, pack(range(0, 10).map((i) => outcome(i, i % 3 === 0 ? { ok: false, status: 500, error: 'http_status' } : {}))))
      await store.write(jobId, pack(range(10, 14).map((i) => outcome(i, { ok: false, status: null, error: 'connect_error' }))))
      const failed = await results(jobId, 'failed')
      const succeeded = await results(jobId, 'succeeded')
      expect(failed.map((r) => r.id)).to.deep.equal([1, 4, 7, 10, 11, 12, 13, 14])
      expect(failed.every((r) => r.ok === false)).to.equal(true)
      expect(succeeded.map((r) => r.id)).to.deep.equal([2, 3, 5, 6, 8, 9])
      expect(succeeded.every((r) => r.ok === true && r.error === null)).to.equal(true)
      expect(await results(jobId, null)).to.have.length(14)
    })

    it('keeps ids with tabs, newlines, quotes, backslashes and non-ASCII intact', async () => {
      const jobId = await createdJob()
      const ids = ['a\tb', 'line\nbreak', 'say "hi"', 'back\\slash', 'crlf\r\n', 'zürich-€-🙂', '', '12', ' ']
      await store.write(jobId, pack(ids.map((id, i) => outcome(i, { idJson: JSON.stringify(id) }))))
      const decoded = await results(jobId, null)
      expect(decoded.map((r) => r.id)).to.deep.equal(ids)
      expect(await counts(jobId)).to.include({ count: String(ids.length) })
    })

    it('keeps a snippet with tabs, newlines and quotes as "response"', async () => {
      const jobId = await createdJob()
      const snippet = 'line 1\n\t"quoted"\r\nüñí 🙂 \\ end'
      await store.write(jobId, pack([outcome(0, { ok: false, status: 400, error: 'http_status', snippet })]))
      const [decoded] = await results(jobId, 'failed')
      expect(decoded).to.deep.equal({ id: 1, ok: false, status: 400, attempts: 1, time_ms: 10, error: 'http_status', response: snippet })
    })

    it('stores one list element per batch of newly counted results', async () => {
      const jobId = await createdJob()
      await store.write(jobId, pack(range(0, 3).map((i) => outcome(i))))
      await store.write(jobId, pack(range(0, 3).map((i) => outcome(i))))
      await store.write(jobId, pack(range(3, 5).map((i) => outcome(i))))
      expect(await store.countResultBatches(jobId)).to.equal(2)
      expect(await store.readResultBatches(jobId, 1, 5)).to.have.length(1)
    })
  })

  it('keeps Redis memory per outcome small (≤ 40 bytes for 20,000 outcomes with 8-char ids)', async function () {
    this.timeout(30_000)
    const jobId = await createdJob()
    const total = 20_000
    for (let start = 0; start < total; start += 1000) {
      const batch = range(start, start + 1000).map((i) => outcome(i, {
        idJson: JSON.stringify(`u${String(i).padStart(7, '0')}`),
        ok: i % 10 !== 0,
        status: i % 10 === 0 ? 503 : 200,
        attempts: 1 + (i % 3),
        timeMs: 5 + (i % 997) / 7,
        error: i % 10 === 0 ? 'http_status' : null
      }))
      expect(await store.write(jobId, pack(batch))).to.equal(1000)
    }
    const usage: Record<string, number> = {}
    for (const key of [keys.done(jobId), keys.results(jobId), keys.counts(jobId), keys.failed(jobId)]) {
      usage[key.slice(key.lastIndexOf(':') + 1)] = Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'))
    }
    const bytes = Object.values(usage).reduce((a, b) => a + b, 0)
    const perOutcome = bytes / total
    console.log(`      Redis memory: ${bytes} bytes for ${total} outcomes = ${perOutcome.toFixed(2)} bytes per outcome ${JSON.stringify(usage)}`)
    expect(await counts(jobId)).to.include({ count: String(total) })
    expect(perOutcome).to.be.at.most(40)
  })
})

describe('JobStore', () => {
  let prefix: string
  let redis: Redis
  let keys: Keys
  let jobs: JobStore

  beforeEach(() => {
    prefix = uniquePrefix()
    redis = new Redis(sharedRedis().url, { maxRetriesPerRequest: 1 })
    keys = new Keys(prefix)
    jobs = new JobStore(redis, keys, TTL_SECONDS)
  })

  afterEach(async () => {
    await deleteKeysWithPrefix(sharedRedis().url, prefix)
    redis.disconnect()
  })

  async function keysUnderPrefix (): Promise<string[]> {
    return (await redis.keys(`${prefix}:*`)).sort()
  }

  it('creates a queued job that findLive() and get() return', async () => {
    const job = newJob()
    await jobs.create(job)
    expect(await jobs.findLive('', job.primaryKey)).to.equal(job.jobId)
    const snapshot = await jobs.get(job.jobId)
    expect(snapshot?.meta).to.include({
      jobId: job.jobId,
      primaryKey: job.primaryKey,
      state: 'queued',
      total: 100,
      specJson: job.specJson,
      spoolPath: job.spoolPath,
      instanceId: job.instanceId,
      owner: '',
      submittedAt: job.submittedAt
    })
    expect(snapshot?.counts).to.include({ count: 0, succeeded: 0, failed: 0, retries: 0, timeMinMs: null, timeMaxMs: null })
  })

  it('returns null from get() and findLive() for unknown jobs and primarykeys', async () => {
    expect(await jobs.get(`job-${randomUUID()}`)).to.equal(null)
    expect(await jobs.findLive('', 'nobody')).to.equal(null)
  })

  for (const state of ['queued', 'running', 'paused'] as const) {
    it(`refuses a second job with the same primarykey while the first is ${state} (job_conflict)`, async () => {
      const first = newJob()
      await jobs.create(first)
      if (state === 'running') await jobs.markRunning(first.jobId, new Date().toISOString())
      if (state === 'paused') await jobs.setLiveState(first.jobId, 'paused')
      const second = newJob({ primaryKey: first.primaryKey })
      const err = await jobs.create(second).catch((error: unknown) => error)
      expect(err).to.be.instanceOf(JobConflictError)
      expect(err).to.include({ code: 'job_conflict', status: 409, jobId: first.jobId })
      expect(await jobs.get(second.jobId)).to.equal(null)
      expect(await jobs.findLive('', first.primaryKey)).to.equal(first.jobId)
      expect(await jobs.resolve(first.primaryKey, '')).to.equal(first.jobId)
    })
  }

  /**
   * Three creates per round on three connections, racing for one primarykey: `stale` first
   * leaves the key naming a job that is gone (a crash between finish and release), so the
   * racers must also agree on who takes it over. 100 rounds: the race window is a few
   * round trips wide, and 20 rounds let a broken create through only now and then.
   */
  for (const stale of [false, true]) {
    it(`lets exactly one of three concurrent creates with the same primarykey through${stale ? ', when a gone job still holds it' : ''}`, async () => {
      const others = [new Redis(sharedRedis().url, { maxRetriesPerRequest: 1 }), new Redis(sharedRedis().url, { maxRetriesPerRequest: 1 })]
      try {
        const stores = [jobs, ...others.map((other) => new JobStore(other, keys, TTL_SECONDS))]
        for (let round = 0; round < 100; round++) {
          const primaryKey = `race-${round}`
          if (stale) await redis.set(keys.liveByPrimaryKey('', primaryKey), `job-gone-${round}`)
          const racers = stores.map(() => newJob({ primaryKey }))
          const settled = await Promise.allSettled(stores.map(async (store, i) => { await store.create(racers[i] as NewJob) }))
          const winners = racers.filter((_, i) => settled[i]?.status === 'fulfilled')
          expect(winners, `round ${round}: jobs created`).to.have.length(1)
          const winner = (winners[0] as NewJob).jobId
          expect(await jobs.findLive('', primaryKey), `round ${round}: live job`).to.equal(winner)
          for (const loser of racers.filter((racer) => racer.jobId !== winner)) {
            expect(await jobs.get(loser.jobId), `round ${round}: a refused create left keys`).to.equal(null)
          }
        }
      } finally {
        for (const other of others) other.disconnect()
      }
    })
  }

  describe('finish()', () => {
    it('releases the live pointer, sets a TTL on every job key, removes the lease and drops the job from the queue and lease lists', async () => {
      const job = newJob()
      await jobs.create(job)
      await jobs.markRunning(job.jobId, new Date().toISOString())
      const outcomes = new OutcomeStore(redis, keys)
      await outcomes.write(job.jobId, pack([outcome(0), outcome(1, { ok: false, status: 500, error: 'http_status' })]))
      // Every job key exists now (meta, counts, done, failed, results, states), so each must get a TTL.
      expect(await redis.exists(...keys.jobKeys(job.jobId))).to.equal(keys.jobKeys(job.jobId).length)
      await redis.set(keys.lease(job.jobId), 'instance-a 1')
      await redis.zadd(keys.queue(), 1, job.jobId)
      await redis.zadd(keys.leases(), 1, job.jobId)
      await jobs.finish(job.jobId, 'completed')
      expect(await jobs.findLive('', job.primaryKey)).to.equal(null)
      expect(await redis.exists(keys.liveByPrimaryKey('', job.primaryKey))).to.equal(0)
      for (const key of [...keys.jobKeys(job.jobId), keys.latestByPrimaryKey('', job.primaryKey)]) {
        const ttl = await redis.ttl(key)
        expect(ttl, key).to.be.above(0).and.at.most(TTL_SECONDS)
      }
      expect(await redis.exists(keys.lease(job.jobId), keys.queue(), keys.leases())).to.equal(0)
      const snapshot = await jobs.get(job.jobId)
      expect(snapshot?.meta.state).to.equal('completed')
      expect(Number.isNaN(Date.parse(snapshot?.meta.finishedAt ?? '')), 'finished_at is a date').to.equal(false)
    })

    it('stores the error of a failed job', async () => {
      const job = newJob()
      await jobs.create(job)
      await jobs.finish(job.jobId, 'failed', { code: 'spool_lost', message: 'the spool file is gone' })
      const { meta } = await jobs.get(job.jobId) ?? {}
      expect(meta?.state).to.equal('failed')
      expect(meta?.error).to.deep.equal({ code: 'spool_lost', message: 'the spool file is gone' })
    })

    it('frees the primarykey for a new job', async () => {
      const first = newJob()
      await jobs.create(first)
      await jobs.finish(first.jobId, 'cancelled')
      const second = newJob({ primaryKey: first.primaryKey })
      await jobs.create(second)
      expect(await jobs.findLive('', first.primaryKey)).to.equal(second.jobId)
    })

    it('leaves the live pointer of a newer job alone', async () => {
      const first = newJob()
      await jobs.create(first)
      await jobs.finish(first.jobId, 'completed')
      const second = newJob({ primaryKey: first.primaryKey })
      await jobs.create(second)
      await jobs.finish(first.jobId, 'completed')
      expect(await jobs.findLive('', first.primaryKey)).to.equal(second.jobId)
    })
  })

  it('records every state transition in order', async () => {
    const job = newJob()
    await jobs.create(job)
    await jobs.markRunning(job.jobId, new Date().toISOString())
    await jobs.setLiveState(job.jobId, 'paused')
    await jobs.setLiveState(job.jobId, 'running')
    await jobs.finish(job.jobId, 'completed')
    const states = await jobs.readStates(job.jobId, 0)
    expect(states.map((entry) => entry.state)).to.deep.equal(['queued', 'running', 'paused', 'running', 'completed'])
    expect(states[0]?.at).to.equal(job.submittedAt)
    expect((await jobs.readStates(job.jobId, 3)).map((entry) => entry.state)).to.deep.equal(['running', 'completed'])
  })

  describe('recordStateLost()', () => {
    it('never lets a reader see `failed` without its reason: state and error go in one write', async () => {
      const job = newJob()
      const meta = keys.meta(job.jobId)
      // MONITOR shows every command as Redis runs it: each write of state=failed to the meta
      // hash must carry error_code, or a /status between two writes shows a reasonless failure.
      const monitor = await new Redis(sharedRedis().url).monitor()
      const metaWrites: string[][] = []
      monitor.on('monitor', (_time: string, args: string[]) => {
        if (args[0]?.toLowerCase() === 'hset' && args[1] === meta) metaWrites.push(args)
      })
      try {
        await jobs.recordStateLost(job.jobId, job.primaryKey, job.instanceId, job.owner, job.total)
        // The monitor's feed arrives on its own connection: wait for finish()'s write.
        for (let waited = 0; !metaWrites.some((args) => args.includes('finished_at')); waited += 10) {
          if (waited > 2000) throw new Error('MONITOR never showed the finishing write')
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        const failedWrites = metaWrites.filter((args) => args.includes('state') && args.includes('failed'))
        expect(failedWrites, 'writes of state=failed').to.not.have.length(0)
        for (const args of failedWrites) expect(args, 'a write of state=failed').to.include('error_code')
        const { meta } = await jobs.get(job.jobId) ?? {}
        expect(meta?.state).to.equal('failed')
        expect(meta?.error?.code).to.equal('state_lost')
      } finally {
        monitor.disconnect()
      }
    })
  })

  describe('resolve()', () => {
    it('resolves a job id to itself and a primarykey to its latest job', async () => {
      const first = newJob()
      await jobs.create(first)
      await jobs.finish(first.jobId, 'completed')
      const second = newJob({ primaryKey: first.primaryKey })
      await jobs.create(second)
      expect(await jobs.resolve(first.jobId, '')).to.equal(first.jobId)
      expect(await jobs.resolve(second.jobId, '')).to.equal(second.jobId)
      expect(await jobs.resolve(first.primaryKey, '')).to.equal(second.jobId)
    })

    it('gives null for an unknown key', async () => {
      expect(await jobs.resolve('never-seen', '')).to.equal(null)
      expect(await jobs.resolve(`job-${randomUUID()}`, '')).to.equal(null)
    })
  })

  describe('listRecent()', () => {
    it('lists jobs newest first, a page at a time', async () => {
      const created = [newJob({ primaryKey: 'pk-1' }), newJob({ primaryKey: 'pk-2' }), newJob({ primaryKey: 'pk-3' })]
      for (const job of created) await jobs.create(job)
      await jobs.finish(created[0]?.jobId as string, 'completed')
      const ids = created.map((job) => job.jobId).reverse()
      expect((await jobs.listRecent(0, 10)).map((job) => job.meta.jobId)).to.deep.equal(ids)
      expect((await jobs.listRecent(0, 2)).map((job) => job.meta.jobId)).to.deep.equal(ids.slice(0, 2))
      expect((await jobs.listRecent(2, 2)).map((job) => job.meta.jobId)).to.deep.equal(ids.slice(2))
      expect(await jobs.countJobs()).to.equal(3)
    })

    it('prunes jobs whose keys expired from the index', async () => {
      const kept = newJob({ primaryKey: 'pk-1' })
      const expired = newJob({ primaryKey: 'pk-2' })
      await jobs.create(kept)
      await jobs.create(expired)
      await redis.del(...keys.jobKeys(expired.jobId))
      expect((await jobs.listRecent(0, 10)).map((job) => job.meta.jobId)).to.deep.equal([kept.jobId])
      expect(await jobs.countJobs()).to.equal(1)
    })
  })

  it('discard() removes every trace of a job', async () => {
    const job = newJob()
    await jobs.create(job)
    await new OutcomeStore(redis, keys).write(job.jobId, OutcomeStore.pack(outcome(0)))
    await jobs.discard(job.jobId, job.primaryKey, '')
    expect(await keysUnderPrefix()).to.deep.equal([])
    expect(await jobs.get(job.jobId)).to.equal(null)
    expect(await jobs.findLive('', job.primaryKey)).to.equal(null)
    expect(await jobs.resolve(job.primaryKey, '')).to.equal(null)
    // The primarykey is free again.
    await jobs.create(newJob({ primaryKey: job.primaryKey }))
  })

  it('keeps every key of one job in one cluster slot (a {jobId} hash tag)', () => {
    const jobId = `job-${randomUUID()}`
    for (const key of keys.jobKeys(jobId)) expect(key).to.equal(`${prefix}:job:{${jobId}}:${key.split(':').pop() as string}`)
  })
})
