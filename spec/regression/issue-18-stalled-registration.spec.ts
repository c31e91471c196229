// Issue 18, item 4: a 503 during an upload left keys behind. Redis stalled while an upload
// was being registered: the client got `503 store_unavailable`, but the registration's steps
// were still queued in the Redis client and ran once Redis answered again, after the clean-up
// had already run. The primarykey's `latest` and `live` keys then named a job that did not
// exist, so `/status?key=<primarykey>` answered 404 for the primarykey's earlier, completed job.
//
// The stall is `CLIENT PAUSE … ALL`: the connection stays up and every command waits, as
// with a frozen server.
//
// Refs: issue 18 item 4
import { request } from 'node:http'
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { expect } from 'chai'
import { useChronosAndTarget, type Chronos } from '../helpers/chronos.js'
import type { Target } from '../helpers/target.js'
import { buildUpload, makeRecords, specLine, uniquePrimaryKey } from '../helpers/ndjson.js'
import { eventually } from '../helpers/ledger.js'

const PAUSE_MS = 3000

/** POSTs an upload in two parts, running `between` after the first: resolves with status and body. */
async function uploadInTwoParts (url: string, first: string, second: string, between: () => Promise<void>): Promise<{ status: number, body: any }> {
  return await new Promise((resolve, reject) => {
    const req = request(`${url}/run`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } }, (res) => {
      let text = ''
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }))
    })
    req.on('error', reject)
    req.write(first)
    between().then(() => req.end(second), reject)
  })
}

describe('issue 18: a registration given up with 503 while Redis stalls', function () {
  this.timeout(30_000)
  let chronos: Chronos
  let target: Target
  useChronosAndTarget((started, listening) => { chronos = started; target = listening })

  it('answers 503 and, once Redis is back, leaves no key of the refused job and the primarykey on its earlier job', async function () {
    const primarykey = uniquePrimaryKey()
    const earlier = await chronos.upload(buildUpload(target.port, makeRecords(3), { primarykey }))
    expect(earlier.status, earlier.text).to.equal(202)
    await chronos.waitForState(earlier.json.job_id)
    const keysBefore = (await chronos.redis.keys(`${chronos.prefix}:*`)).sort()

    const records = makeRecords(200).map((record) => JSON.stringify(record)).join('\n') + '\n'
    const answer = await uploadInTwoParts(chronos.url, `${specLine(target.port, { primarykey })}\n`, records, async () => {
      // Line 1 has been checked (the primarykey is free) once the partial spool file holds
      // bytes: stall Redis then, before registration.
      await eventually(async () => {
        const partial = (await chronos.spoolFiles()).find((name) => name.endsWith('.partial'))
        expect(partial).to.be.a('string')
        expect((await stat(join(chronos.spoolDir, partial as string))).size).to.be.above(0)
      }, 10_000, 20)
      await chronos.redis.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'ALL')
    })
    expect(answer.status).to.equal(503)
    expect(answer.body.error.code).to.equal('store_unavailable')

    // Redis answers again; the registration's queued steps run, then its undo.
    await eventually(async () => {
      expect((await chronos.redis.keys(`${chronos.prefix}:*`)).sort()).to.deep.equal(keysBefore)
    }, PAUSE_MS + 5000)
    const status = await chronos.get(`/status?key=${primarykey}`)
    expect(status.status, status.text).to.equal(200)
    expect(status.json).to.include({ job_id: earlier.json.job_id, state: 'completed' })
    expect(await chronos.spoolFiles()).to.deep.equal([])
    // The primarykey is free: a new upload under it is accepted.
    const again = await chronos.upload(buildUpload(target.port, makeRecords(2), { primarykey }))
    expect(again.status, again.text).to.equal(202)
    await chronos.waitForState(again.json.job_id)
  })
})
