// DESIGN §1 and issue 4: a disk that fills up while an upload is spooled answers 507
// insufficient_storage and leaves no partial file, no job and no key behind; once space is
// back the next upload works. The spool dir is a 1 MiB tmpfs (we run as root in CI); where
// mount is refused, the tests are skipped with the reason in their title.
//
// Mechanisms under test:
//   - lib/spool/spool-writer.ts: ENOSPC wrapped as InsufficientStorageError (507); the
//     `.ndjson.partial` file unlinked on destroy / discard();
//   - lib/upload/accept-upload.ts: the job is registered only after the spool file is
//     committed, so a failed spool leaves no key.
import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect } from 'chai'
import { startChronosProcess, stopAllChronosProcesses, type ChronosProcess } from '../helpers/chronos-process.js'
import { eventually, expectEndedJobKeys, expectEveryIdDelivered, keysWithTtl } from '../helpers/ledger.js'
import { buildUpload, makeRecords, uniquePrimaryKey, type RecordLine } from '../helpers/ndjson.js'
import { sharedRedis } from '../helpers/redis.js'
import { startTarget, type Target } from '../helpers/target.js'

const execFileAsync = promisify(execFile)

/**
 * POSTs a body and resolves with the answer, even when the server answers before it has read
 * the whole body (as it must when the disk fills up half-way); a write error after that is
 * ignored. Rejects only when no answer came at all.
 */
function postEarlyAnswer (url: string, body: string): Promise<{ status: number, json: any, text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', 'content-length': String(Buffer.byteLength(body)) } })
    req.once('response', (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
      res.once('end', () => {
        let json: unknown = null
        try {
          json = JSON.parse(text)
        } catch {}
        resolve({ status: res.statusCode ?? 0, json, text })
      })
      res.once('error', reject)
    })
    req.once('error', reject)
    req.end(body)
  })
}

describe('disk full while spooling', function () {
  this.timeout(60_000)
  let mountDir = ''
  let skipReason: string | null = null
  let target: Target
  let chronos: ChronosProcess | undefined

  before(async function () {
    mountDir = await mkdtemp(join(tmpdir(), 'chronos-tmpfs-'))
    try {
      await execFileAsync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountDir], { timeout: 5000 })
    } catch (err) {
      skipReason = `cannot mount a 1 MiB tmpfs: ${((err as { stderr?: string }).stderr ?? String(err)).trim()}`
    }
  })

  after(async function () {
    if (skipReason === null) await execFileAsync('umount', [mountDir], { timeout: 5000 })
    await rm(mountDir, { recursive: true, force: true })
  })

  beforeEach(async function () {
    if (skipReason !== null) {
      // Mocha's skip() takes no reason: put it where the reporter shows it.
      if (this.currentTest !== undefined) this.currentTest.title += ` (skipped: ${skipReason})`
      this.skip()
    }
    target = await startTarget()
    chronos = await startChronosProcess({ redisUrl: sharedRedis().url, spoolDir: mountDir })
  })

  afterEach(async function () {
    await stopAllChronosProcesses()
    await target?.close()
  })

  it('answers 507 insufficient_storage, leaves no partial file and no keys, and takes the next upload once space is back', async function () {
    const running = chronos as ChronosProcess
    // About 2 MiB of records: twice what the spool disk holds.
    const records: RecordLine[] = makeRecords(4000).map((record) => ({ ...record, payload: 'x'.repeat(500) }))
    const tooBig = buildUpload(target.port, records, { primarykey: uniquePrimaryKey() })
    expect(Buffer.byteLength(tooBig)).to.be.above(2 * 1024 * 1024 - 100_000)

    const full = await postEarlyAnswer(`${running.url}/run`, tooBig)
    expect(full.status, full.text).to.equal(507)
    expect(full.json.error.code).to.equal('insufficient_storage')
    expect(await running.spoolFiles(), 'files left in the spool dir').to.deep.equal([])
    expect([...(await keysWithTtl(sharedRedis().url, running.prefix)).keys()]).to.deep.equal([])
    expect(target.requests).to.have.length(0)

    // The failed upload's file is gone already, so the space is back.
    const primarykey = uniquePrimaryKey()
    const small = await running.upload(buildUpload(target.port, makeRecords(20), { primarykey }))
    expect(small.status, small.text).to.equal(202)
    const jobId: string = small.json.job_id
    const status = await running.waitForState(jobId)
    expect(status).to.include({ state: 'completed', total: 20, count: 20, succeeded: 20 })
    expectEveryIdDelivered(target.requests, jobId, 20)
    await eventually(async () => expect(await running.spoolFiles()).to.deep.equal([]))
    await expectEndedJobKeys(sharedRedis().url, running.prefix, jobId, primarykey)
  })
})
