// createStatusSink() with the real OutcomeStore on the shared Redis: outcomes go out in
// size-capped batches or after a quiet spell, nothing is lost or counted twice when a write
// fails and is retried, and only a lost job state fails the stream (STYLE.md, Stream conventions).
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { Readable, Writable } from 'node:stream'
import { finished, pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { Redis } from 'ioredis'
import type { Outcome } from '../../lib/domain/outcome.js'
import { createLogger } from '../../lib/logger.js'
import { createStatusSink, type StatusSink, type StatusSinkOptions } from '../../lib/pipeline/status-sink.js'
import { JobStore } from '../../lib/store/job-store.js'
import { Keys } from '../../lib/store/keys.js'
import { OutcomeStore } from '../../lib/store/outcome-store.js'
import { deleteKeysWithPrefix, sharedRedis, uniquePrefix } from '../helpers/redis.js'

function outcome (index: number): Outcome {
  const isOk = index % 7 !== 0
  return {
    index,
    idJson: String(index + 1),
    ok: isOk,
    status: isOk ? 200 : 503,
    attempts: 1 + (index % 2),
    timeMs: 1 + (index % 50),
    error: isOk ? null : 'http_status'
  }
}

/** An objectMode source of outcomes 0..count-1, one per array as the sender may push them, counting every one read. */
function outcomeSource (count: number): { stream: Readable, pulled: () => number } {
  let next = 0
  const stream = new Readable({
    objectMode: true,
    highWaterMark: 1,
    read () {
      this.push(next < count ? [outcome(next++)] : null)
    }
  })
  return { stream, pulled: () => next }
}

/** Lines of a packed batch. */
function lineCount (packed: Buffer): number {
  return packed.toString('utf8').split('\n').length - 1
}

async function until (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(10)
  }
}

describe('createStatusSink()', () => {
  let prefix: string
  let redis: Redis
  let keys: Keys
  let store: OutcomeStore
  let jobId: string
  /** Parsed log lines at warn and above. */
  let logs: Array<Record<string, unknown>>
  /** Sizes of the batches the sink handed to write(), one entry per call. */
  let writes: number[]
  let sinks: StatusSink[]

  beforeEach(async () => {
    prefix = uniquePrefix()
    redis = new Redis(sharedRedis().url, { maxRetriesPerRequest: 1 })
    keys = new Keys(prefix)
    store = new OutcomeStore(redis, keys)
    jobId = `job-${randomUUID()}`
    await new JobStore(redis, keys, 3600).create({
      jobId,
      primaryKey: `pk-${randomUUID()}`,
      specJson: '{}',
      total: 10_000,
      spoolPath: `/tmp/${jobId}.ndjson`,
      instanceId: 'instance-a',
      submittedAt: new Date().toISOString(),
      owner: ''
    })
    logs = []
    writes = []
    sinks = []
  })

  afterEach(async () => {
    for (const sink of sinks) sink.destroy()
    await deleteKeysWithPrefix(sharedRedis().url, prefix)
    redis.disconnect()
  })

  function sink (options: Partial<StatusSinkOptions> = {}, write: (packed: Buffer) => Promise<number> = async (packed) => await store.write(jobId, packed)): StatusSink {
    const logStream = new Writable({
      write (chunk: Buffer, _encoding, callback) {
        for (const line of chunk.toString('utf8').split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>)
        callback()
      }
    })
    const created = createStatusSink({
      batchSize: 1000,
      flushIntervalMs: 60_000,
      pack: OutcomeStore.pack,
      write: async (packed) => {
        writes.push(lineCount(packed))
        return await write(packed)
      },
      log: createLogger({ level: 'warn' }, logStream),
      ...options
    })
    sinks.push(created)
    return created
  }

  async function counts (): Promise<Record<string, string>> {
    return await redis.hgetall(keys.counts(jobId))
  }

  /** Indexes of every stored result, in storage order. */
  async function storedIndexes (): Promise<number[]> {
    const batches = await store.readResultBatches(jobId, 0, await store.countResultBatches(jobId))
    return batches.flatMap((batch) => batch.split('\n')).map((line) => Number(JSON.parse(line.split('\t')[5] as string)) - 1)
  }

  it('stores outcomes in batches of batchSize, one write per batch', async () => {
    await pipeline(outcomeSource(2500).stream, sink({ batchSize: 1000 }))
    expect(writes).to.deep.equal([1000, 1000, 500])
    expect(await counts()).to.include({ count: '2500' })
    expect(await store.countResultBatches(jobId)).to.equal(3)
  })

  it('stores batches larger than its starting buffer byte for byte, multi-byte text included', async () => {
    // 300 failures with 512-character snippets and non-ASCII ids: ~200 KB of packed text,
    // past the sink's 64 KiB starting buffer, so the batch is written while the buffer grows.
    const failures = Array.from({ length: 300 }, (_, index): Outcome => ({
      index,
      idJson: JSON.stringify(`zoë-ü-${index}-🚀`),
      ok: false,
      status: 500,
      attempts: 1,
      timeMs: 2,
      error: 'http_status',
      snippet: `ошибка ${index} `.padEnd(512, 'é')
    }))
    const packedBatches: Buffer[] = []
    const stage = sink({ batchSize: 300 }, async (packed) => {
      packedBatches.push(Buffer.from(packed))
      return await store.write(jobId, packed)
    })
    stage.end(failures)
    await finished(stage)
    expect(writes).to.deep.equal([300])
    expect(packedBatches[0]?.toString('utf8')).to.equal(failures.map((failure) => OutcomeStore.pack(failure)).join(''))
    expect(await counts()).to.include({ count: '300', failed: '300' })
  })

  it('cuts one large array of outcomes into writes of exactly batchSize', async () => {
    const stage = sink()
    stage.end(Array.from({ length: 2500 }, (_, i) => outcome(i)))
    await finished(stage)
    expect(writes).to.deep.equal([1000, 1000, 500])
    expect((await storedIndexes()).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 2500 }, (_, i) => i))
  })

  it('stores arrays of any size in full batches, not a full batch and the rest of an array', async () => {
    const arrays = Array.from({ length: 300 }, (_, a) => Array.from({ length: 7 }, (_, i) => outcome(a * 7 + i)))
    await pipeline(Readable.from(arrays), sink({ batchSize: 100 }))
    expect(writes).to.deep.equal([...Array.from({ length: 21 }, () => 100)])
    expect(await counts()).to.include({ count: '2100' })
  })

  it('never hands write() more than batchSize outcomes', async () => {
    await pipeline(outcomeSource(1234).stream, sink({ batchSize: 100 }))
    expect(writes.every((size) => size <= 100), `batch sizes ${writes.join(',')}`).to.equal(true)
    expect(writes.reduce((a, b) => a + b, 0)).to.equal(1234)
    expect(writes).to.have.length(13)
  })

  it('counts every outcome exactly, with the right totals', async () => {
    await pipeline(outcomeSource(2500).stream, sink({ batchSize: 1000 }))
    let failed = 0
    let retries = 0
    for (let i = 0; i < 2500; i++) {
      const o = outcome(i)
      if (!o.ok) failed++
      retries += o.attempts - 1
    }
    expect(await counts()).to.include({
      count: '2500', succeeded: String(2500 - failed), failed: String(failed), retries: String(retries), time_min: '1', time_max: '50'
    })
    expect((await storedIndexes()).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 2500 }, (_, i) => i))
  })

  it('flushes a partial batch after flushIntervalMs when quiet', async () => {
    const stage = sink({ batchSize: 1000, flushIntervalMs: 50 })
    for (let i = 0; i < 10; i++) stage.write([outcome(i)])
    await until(async () => (await counts()).count === '10', 'the partial batch is stored')
    expect(writes).to.deep.equal([10])
    // Quiet again: a second spell gets its own flush.
    for (let i = 10; i < 13; i++) stage.write([outcome(i)])
    await until(async () => (await counts()).count === '13', 'the second partial batch is stored')
    expect(writes).to.deep.equal([10, 3])
    stage.end()
    await once(stage, 'finish')
    expect(writes, 'nothing left for final').to.deep.equal([10, 3])
  })

  it('does not flush a partial batch before flushIntervalMs', async () => {
    const stage = sink({ batchSize: 1000, flushIntervalMs: 60_000 })
    for (let i = 0; i < 10; i++) stage.write([outcome(i)])
    await sleep(100)
    expect(writes).to.deep.equal([])
    expect(await counts()).to.include({ count: '0' })
    stage.end()
    await once(stage, 'finish')
    expect(writes).to.deep.equal([10])
  })

  it('stores the rest in final, before finishing', async () => {
    await pipeline(outcomeSource(1500).stream, sink({ batchSize: 1000, flushIntervalMs: 60_000 }))
    // pipeline() resolved, so every outcome is already in Redis.
    expect(await counts()).to.include({ count: '1500' })
    expect(writes).to.deep.equal([1000, 500])
  })

  it('finishes without a write when it got no outcome', async () => {
    await pipeline(outcomeSource(0).stream, sink())
    expect(writes).to.deep.equal([])
  })

  it('holds its write callback while a full batch is stored, so the source stays bounded', async () => {
    let release: () => void = () => {}
    const released = new Promise<void>((resolve) => { release = resolve })
    const source = outcomeSource(10_000)
    const stage = sink({ batchSize: 100 }, async (packed) => {
      await released
      return await store.write(jobId, packed)
    })
    const done = pipeline(source.stream, stage)
    await until(() => writes.length === 1, 'the first batch is being stored')
    await sleep(50)
    expect(writes).to.deep.equal([100])
    // Two batches unstored (one being stored, one filled behind it), then the sink's own
    // buffer of 16 arrays (of one outcome here) and the source's.
    expect(source.pulled(), 'outcomes pulled while Redis is stuck').to.be.at.most(2 * 100 + 16 + 4)
    release()
    await done
    expect(await counts()).to.include({ count: '10000' })
  })

  describe('when a write fails', () => {
    it('retries a write that failed before reaching Redis, losing nothing', async () => {
      let hasFailed = false
      const stage = sink({ batchSize: 1000 }, async (packed) => {
        if (!hasFailed && writes.length === 2) {
          hasFailed = true
          throw Object.assign(new Error('Connection is closed.'), { code: 'ECONNRESET' })
        }
        return await store.write(jobId, packed)
      })
      await pipeline(outcomeSource(2500).stream, stage)
      expect(writes).to.deep.equal([1000, 1000, 1000, 500])
      expect(await counts()).to.include({ count: '2500' })
      expect((await storedIndexes()).sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 2500 }, (_, i) => i))
      expect(logs.filter((line) => line.msg === 'status write failed, retrying')).to.have.length(1)
    })

    it('retries an ambiguous write (applied, then reported failed) without counting twice', async () => {
      let hasFailed = false
      const stage = sink({ batchSize: 1000 }, async (packed) => {
        const counted = await store.write(jobId, packed)
        if (!hasFailed && writes.length === 1) {
          hasFailed = true
          throw new Error('reply lost after the script ran')
        }
        return counted
      })
      await pipeline(outcomeSource(2500).stream, stage)
      expect(writes).to.deep.equal([1000, 1000, 1000, 500])
      const stored = await counts()
      expect(stored).to.include({ count: '2500' })
      expect(Number(stored.succeeded) + Number(stored.failed)).to.equal(2500)
      expect(await storedIndexes()).to.have.length(2500)
    })

    it('retries a failed timer flush too', async () => {
      let hasFailed = false
      const stage = sink({ batchSize: 1000, flushIntervalMs: 20 }, async (packed) => {
        if (!hasFailed) {
          hasFailed = true
          throw new Error('Redis is restarting')
        }
        return await store.write(jobId, packed)
      })
      for (let i = 0; i < 5; i++) stage.write([outcome(i)])
      await until(async () => (await counts()).count === '5', 'the retried flush is stored')
      expect(writes).to.deep.equal([5, 5])
      stage.end()
      await once(stage, 'finish')
    })
  })

  describe('when the job state is lost', () => {
    it('fails the stream with state_lost on a batch write, without retrying', async () => {
      await redis.del(keys.meta(jobId))
      const source = outcomeSource(2500)
      const err = await pipeline(source.stream, sink({ batchSize: 1000 })).catch((error: unknown) => error)
      expect(err).to.have.property('code', 'state_lost')
      expect(writes).to.deep.equal([1000])
      expect(source.stream.destroyed).to.equal(true)
      expect(await redis.exists(keys.done(jobId))).to.equal(0)
    })

    it('fails the stream with state_lost on the final write', async () => {
      await redis.del(keys.meta(jobId))
      const err = await pipeline(outcomeSource(10).stream, sink({ batchSize: 1000 })).catch((error: unknown) => error)
      expect(err).to.have.property('code', 'state_lost')
    })

    it('destroys the sink with state_lost on a timer flush', async () => {
      await redis.del(keys.meta(jobId))
      const stage = sink({ batchSize: 1000, flushIntervalMs: 20 })
      const failed = once(stage, 'error')
      stage.write([outcome(0)])
      const [err] = await failed
      expect(err).to.have.property('code', 'state_lost')
      expect(stage.destroyed).to.equal(true)
    })
  })
})
