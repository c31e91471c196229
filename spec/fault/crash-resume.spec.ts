// DESIGN §4 and §7: a crash (SIGKILL) mid-job loses nothing. Once the dead holder's lease
// ends, an instance (the restarted one, or any other sharing Redis and the spool dir) takes
// the job over from its spool file, skipping records whose outcome is recorded; only records
// in flight or with an unflushed outcome are sent again, with the same idempotency key; the
// final counts are exact. A crash mid-upload leaves no job.
//
// Mechanisms under test:
//   - lib/service.ts sweepPartialUploads(): `*.ndjson.partial` nobody writes to any more is
//     removed, a fresh one (another instance's upload in progress) is kept;
//   - lib/runner/job-claimer.ts: expired leases are taken over (lib/store/lease-store.ts);
//   - lib/pipeline/record-batches.ts with readDoneBits (lib/store/outcome-store.ts): resumed
//     records whose done bit is set are skipped;
//   - lib/store/lua/record-outcomes-5.lua: SETBIT per record makes every outcome count once;
//   - lib/pipeline/status-sink.ts: what is lost in a crash is at most one unflushed batch;
//   - lib/runner/job-runner.ts #finish(): the spool file is unlinked when the job ends.
import { randomUUID } from 'node:crypto'
import { request as httpRequest } from 'node:http'
import { unlink, utimes, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { startChronosProcess, type ChronosProcess } from '../helpers/chronos-process.js'
import { useFaultRig } from '../helpers/fault-rig.js'
import { eventually, expectEndedJobKeys, expectEveryIdDelivered, keysWithTtl } from '../helpers/ledger.js'
import { buildUpload, makeRecords, specLine, uniquePrimaryKey } from '../helpers/ndjson.js'

const TOTAL = 2000
const CONCURRENCY = 16
const OUTCOME_BATCH_SIZE = 50
const TARGET_DELAY_MS = 20

/**
 * Re-sends after a SIGKILL are bounded by what the crash could catch between "the target got
 * the request" and "the outcome is counted in Redis":
 *   - the requests in flight: at most `concurrency` (the sender's cap);
 *   - the outcomes the status sink had not stored yet: it flushes every
 *     CHRONOS_FLUSH_INTERVAL_MS (20 ms here) or at CHRONOS_OUTCOME_BATCH_SIZE, whichever comes
 *     first, so with Redis healthy at most one batch is waiting.
 * Every other record was either counted (skipped on resume) or never sent.
 */
const MAX_RESENDS = CONCURRENCY + OUTCOME_BATCH_SIZE
/** Short, so a crashed holder's jobs are taken over quickly. */
const LEASE_MS = 1500

describe('crash (SIGKILL) and resume', function () {
  this.timeout(60_000)
  const rig = useFaultRig({ targetDelayMs: TARGET_DELAY_MS, redis: { appendOnly: true } })

  async function start (options: Partial<ChronosProcess['options']> = {}): Promise<ChronosProcess> {
    return await startChronosProcess({
      redisUrl: rig.redis.url,
      ...options,
      env: { CHRONOS_OUTCOME_BATCH_SIZE: String(OUTCOME_BATCH_SIZE), CHRONOS_LEASE_MS: String(LEASE_MS), ...options.env }
    })
  }

  async function crash (chronos: ChronosProcess): Promise<void> {
    chronos.kill('SIGKILL')
    expect(await chronos.waitForExit()).to.equal(null)
    expect(chronos.exitSignal).to.equal('SIGKILL')
  }

  async function storedCount (prefix: string, jobId: string): Promise<number> {
    return Number(await rig.admin.hget(`${prefix}:job:{${jobId}}:counts`, 'count'))
  }

  it('resumes the job from its spool file: every id delivered, re-sends bounded, counts exact', async function () {
    const first = await start()
    const primarykey = uniquePrimaryKey()
    const answer = await first.upload(buildUpload(rig.target.port, makeRecords(TOTAL), { primarykey, concurrency: CONCURRENCY }))
    expect(answer.status, answer.text).to.equal(202)
    const jobId: string = answer.json.job_id

    await rig.target.waitForRequests(500, 30_000)
    await crash(first)
    const sentBeforeCrash = rig.target.requests.length
    // The crash really hit mid-job: progress is partial and the spool file is still there.
    const countAtCrash = await storedCount(first.prefix, jobId)
    expect(countAtCrash).to.be.below(TOTAL)
    expect((await first.spoolFiles()).sort()).to.deep.equal([`${jobId}.ndjson`, `${jobId}.receipt.json`])
    expect(await rig.admin.hget(`${first.prefix}:job:{${jobId}}:meta`, 'state')).to.equal('running')

    const second = await start(first.options)
    const status = await second.waitForState(jobId, undefined, 60_000)
    expect(status).to.include({ state: 'completed', total: TOTAL, count: TOTAL, succeeded: TOTAL, failed: 0, pending: 0 })

    const ledger = expectEveryIdDelivered(rig.target.requests, jobId, TOTAL)
    expect(ledger.duplicates, `re-sends (counted at crash: ${countAtCrash}, sent before crash: ${sentBeforeCrash})`)
      .to.be.at.most(MAX_RESENDS)
    for (const id of ledger.duplicatedIds) {
      const sends = ledger.byId.get(id) ?? []
      // A re-send is the resume repeating a record the crashed process had sent: once more, no more.
      expect(sends, `sends of record ${id}`).to.have.length(2)
      expect(rig.target.requests.indexOf(sends[0] as never), `first send of record ${id}`).to.be.below(sentBeforeCrash)
      expect(rig.target.requests.indexOf(sends[1] as never), `re-send of record ${id}`).to.be.at.least(sentBeforeCrash)
    }
    await eventually(async () => expect(await second.spoolFiles()).to.deep.equal([]))
    await expectEndedJobKeys(rig.redis.url, first.prefix, jobId, primarykey)
  })

  it('sweeps the partial file of an upload cut by a crash, and no job appears', async function () {
    const first = await start()
    const primarykey = uniquePrimaryKey()
    // An upload in progress: the config line and some records sent, the body not ended.
    const upload = httpRequest(`${first.url}/run`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } })
    upload.on('error', () => {})
    upload.write(buildUpload(rig.target.port, makeRecords(200), { primarykey }) + '{"id":201,"payl')
    await eventually(async () => expect((await first.spoolFiles()).filter((name) => name.endsWith('.ndjson.partial'))).to.have.length(1))
    await crash(first)
    upload.destroy()
    // Also one left by some earlier crash, dropped in by hand.
    const stale = `job-${randomUUID()}.ndjson.partial`
    await writeFile(join(first.spoolDir, stale), specLine(rig.target.port) + '\n{"id":1,"payload":"x"}\n')
    expect(await first.spoolFiles()).to.have.length(2)
    // Both untouched for longer than an upload may idle: dead. A fresh one may be another
    // instance's upload in progress (the spool dir is shared by the fleet) and must stay.
    const anHourAgo = new Date(Date.now() - 3600_000)
    for (const name of await first.spoolFiles()) await utimes(join(first.spoolDir, name), anHourAgo, anHourAgo)
    const live = `job-${randomUUID()}.ndjson.partial`
    await writeFile(join(first.spoolDir, live), specLine(rig.target.port) + '\n')

    const second = await start(first.options)
    // The sweep runs before the server listens, so it is done once /healthz answers.
    expect(await second.spoolFiles()).to.deep.equal([live])
    await unlink(join(first.spoolDir, live))
    expect((await second.get(`/status?key=${primarykey}`)).status).to.equal(404)
    expect((await second.get('/jobs')).json.jobs).to.deep.equal([])
    await sleep(300)
    expect([...(await keysWithTtl(rig.redis.url, first.prefix)).keys()]).to.deep.equal([])
    expect(rig.target.requests).to.have.length(0)
  })

  it('another instance sharing Redis and the spool dir takes the job over once the dead holder\'s lease ends', async function () {
    const total = 10_000
    const first = await start()
    const primarykey = uniquePrimaryKey()
    const answer = await first.upload(buildUpload(rig.target.port, makeRecords(total), { primarykey, concurrency: CONCURRENCY }))
    expect(answer.status, answer.text).to.equal(202)
    const jobId: string = answer.json.job_id
    // Same Redis, key prefix and spool dir; another name (a rescheduled pod): nothing depends
    // on the dead instance coming back. Running before the crash, so its start-up time does
    // not count against the takeover.
    const other = await start({ prefix: first.prefix, spoolDir: first.spoolDir, instanceId: `other-${randomUUID()}` })
    await rig.target.waitForRequests(200, 30_000)
    const beforeCrash = (await other.get(`/status?key=${jobId}`)).json
    expect(beforeCrash, 'the job stays with its holder while it lives, and is still running').to.include({ instance: first.instanceId, state: 'running' })
    await crash(first)
    const crashedAtMs = Date.now()

    await eventually(async () => expect((await other.get(`/status?key=${jobId}`)).json.instance).to.equal(other.options.instanceId), LEASE_MS + 5000)
    expect(Date.now() - crashedAtMs, 'taken over within the lease plus 5 s').to.be.below(LEASE_MS + 5000)
    const status = await other.waitForState(jobId, undefined, 60_000)
    expect(status).to.include({ state: 'completed', total, count: total, succeeded: total, failed: 0 })
    const ledger = expectEveryIdDelivered(rig.target.requests, jobId, total)
    expect(ledger.duplicates).to.be.at.most(MAX_RESENDS)
    const info = await other.get('/info')
    expect(info.json.leases).to.include({ takeovers: 1, fenced: 0 })
    await eventually(async () => expect(await other.spoolFiles()).to.deep.equal([]))
    await expectEndedJobKeys(rig.redis.url, first.prefix, jobId, primarykey)
  })
})
