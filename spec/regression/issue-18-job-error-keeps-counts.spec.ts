// Issue 18, item 2: a job whose pipeline failed lost what it had counted. After 50 records
// were delivered, an error in the pipeline ended the job `failed/job_error` with count 0:
// the outcomes waiting in the status sink for their flush went down with it.
// Now the sink stores what it holds when it is torn down by an error elsewhere (bounded in
// time), so the failed job ends with every outcome it had: only a lost job state, which has
// nowhere to store them, skips that.
//
// Refs: issue 18 item 2
import { randomUUID } from 'node:crypto'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { expect } from 'chai'
import { Redis } from 'ioredis'
import type { Outcome } from '../../lib/domain/outcome.js'
import { createLogger } from '../../lib/logger.js'
import { createStatusSink } from '../../lib/pipeline/status-sink.js'
import { JobStore } from '../../lib/store/job-store.js'
import { Keys } from '../../lib/store/keys.js'
import { OutcomeStore } from '../../lib/store/outcome-store.js'
import { deleteKeysWithPrefix, sharedRedis, uniquePrefix } from '../helpers/redis.js'

const DELIVERED = 50

function outcome (index: number): Outcome {
  return { index, idJson: String(index + 1), ok: true, status: 200, attempts: 1, timeMs: 5, error: null }
}

describe('issue 18: a pipeline error after outcomes reached the status sink', function () {
  let prefix: string
  let redis: Redis

  beforeEach(function () {
    prefix = uniquePrefix()
    redis = new Redis(sharedRedis().url, { maxRetriesPerRequest: 1 })
  })

  afterEach(async function () {
    await deleteKeysWithPrefix(sharedRedis().url, prefix)
    redis.disconnect()
  })

  it('stores the outcomes the sink held, so the failed job keeps its count', async function () {
    const keys = new Keys(prefix)
    const jobId = `job-${randomUUID()}`
    await new JobStore(redis, keys, 3600).create({
      jobId, primaryKey: 'pk', specJson: '{}', total: 100, spoolPath: '/nowhere', instanceId: 'i', submittedAt: new Date().toISOString(), owner: ''
    })
    const store = new OutcomeStore(redis, keys)
    let sent = 0
    // The sender's side: 50 outcomes, then the pipeline breaks (a corrupt spool, a bug).
    const source = new Readable({
      objectMode: true,
      read () {
        if (sent < DELIVERED) this.push([outcome(sent++)])
        else this.destroy(new Error('the pipeline broke'))
      }
    })
    const sink = createStatusSink({
      batchSize: 1000,
      flushIntervalMs: 60_000,
      pack: OutcomeStore.pack,
      write: async (packed) => await store.write(jobId, packed),
      log: createLogger({ level: 'silent' }, new Writable({ write: (_chunk, _encoding, callback) => callback() }))
    })
    await expect(pipeline(source, sink)).to.be.rejectedWith('the pipeline broke')
    expect(await redis.hget(keys.counts(jobId), 'count')).to.equal(String(DELIVERED))
  })
})
