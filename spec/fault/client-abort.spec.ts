// DESIGN §1 and issue 4: a client gone mid-upload leaves no job, no spool file and no key,
// and nothing reaches the target; the process carries on.
//
// Mechanisms under test:
//   - lib/upload/accept-upload.ts: pipeline(request, [gunzip,] validator, spool) torn down by
//     the aborted request; spool.discard() before anything is registered in Redis;
//   - lib/spool/spool-writer.ts _destroy(): the `.ndjson.partial` file is unlinked.
import { request as httpRequest, type ClientRequest } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import { createGzip } from 'node:zlib'
import { expect } from 'chai'
import { startChronosProcess, cleanUpChronosProcesses, type ChronosProcess } from '../helpers/chronos-process.js'
import { eventually, keysWithTtl } from '../helpers/ledger.js'
import { buildUpload, makeRecords, uniquePrimaryKey } from '../helpers/ndjson.js'
import { sharedRedis } from '../helpers/redis.js'
import { startTarget, type Target } from '../helpers/target.js'

describe('client gone mid-upload', function () {
  this.timeout(30_000)
  let target: Target
  let chronos: ChronosProcess

  beforeEach(async function () {
    target = await startTarget()
    chronos = await startChronosProcess({ redisUrl: sharedRedis().url })
  })

  afterEach(async function () {
    await cleanUpChronosProcesses()
    await target.close()
  })

  function openUpload (headers: Record<string, string> = {}): ClientRequest {
    const req = httpRequest(`${chronos.url}/run`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson', ...headers } })
    req.on('error', () => {})
    return req
  }

  async function waitForPartialFile (): Promise<void> {
    await eventually(async () => {
      expect((await chronos.spoolFiles()).filter((name) => name.endsWith('.ndjson.partial'))).to.have.length(1)
    })
  }

  /** No file, no key, no job, no request; and the process still serves. */
  async function expectNothingLeft (primarykey: string): Promise<void> {
    await eventually(async () => expect(await chronos.spoolFiles(), 'spool files').to.deep.equal([]))
    // Give a wrongly registered job time to show up and start sending.
    await sleep(300)
    expect(await chronos.spoolFiles()).to.deep.equal([])
    expect([...(await keysWithTtl(sharedRedis().url, chronos.prefix)).keys()], 'keys under the prefix').to.deep.equal([])
    expect((await chronos.get(`/status?key=${primarykey}`)).status).to.equal(404)
    expect(target.requests).to.have.length(0)
    expect(chronos.isRunning).to.equal(true)
    expect((await chronos.get('/healthz')).status).to.equal(200)
  }

  it('leaves nothing when the socket is destroyed half-way through a record', async function () {
    const primarykey = uniquePrimaryKey()
    const req = openUpload()
    req.write(buildUpload(target.port, makeRecords(500), { primarykey }) + '{"id":501,"payload":"hal')
    await waitForPartialFile()
    req.destroy()
    await expectNothingLeft(primarykey)
  })

  it('leaves nothing when a gzip upload is cut off mid-stream', async function () {
    const primarykey = uniquePrimaryKey()
    const req = openUpload({ 'content-encoding': 'gzip' })
    const gzip = createGzip()
    gzip.pipe(req)
    gzip.write(buildUpload(target.port, makeRecords(2000), { primarykey }))
    // Flush what is compressed so far, so the server has a valid config line and records.
    await new Promise<void>((resolve) => gzip.flush(() => resolve()))
    await waitForPartialFile()
    req.destroy()
    gzip.destroy()
    await expectNothingLeft(primarykey)
  })

  it('never leaves half a job when the client goes after sending the whole body, before the answer', async function () {
    // The body is complete, so the job may be accepted even though nobody reads the 202:
    // either it completes in full or nothing is left. What must never happen is half a job.
    const primarykey = uniquePrimaryKey()
    const req = openUpload()
    req.end(buildUpload(target.port, makeRecords(50), { primarykey }))
    await new Promise((resolve) => setImmediate(resolve))
    req.destroy()
    await sleep(500)
    const answer = await chronos.get(`/status?key=${primarykey}`)
    if (answer.status === 404) {
      await expectNothingLeft(primarykey)
    } else {
      const status = await chronos.waitForState(answer.json.job_id)
      expect(status).to.include({ state: 'completed', total: 50, count: 50, succeeded: 50 })
      expect(new Set(target.requests.map((r) => r.recordId)).size).to.equal(50)
      await eventually(async () => expect(await chronos.spoolFiles()).to.deep.equal([]))
    }
  })
})
