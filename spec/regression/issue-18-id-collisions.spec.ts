// Issue 18 item 6: ids of visible ASCII were sent raw and any other id percent-encoded, so
// "é" and "%C3%A9" arrived with the same x-chronos-record-id and idempotency-key, as did
// "a b" and "a%20b": a target dropping duplicates, as the README advises, dropped one. Now
// `%` is encoded too, which makes the header form one-to-one (decodeURIComponent undoes it).
// Refs: issue 18 item 6
import { expect } from 'chai'
import { useChronosAndTarget, type Chronos } from '../helpers/chronos.js'
import type { Target } from '../helpers/target.js'
import { buildUpload } from '../helpers/ndjson.js'

describe('issue 18 item 6: record ids in headers', function () {
  let chronos: Chronos
  let target: Target
  useChronosAndTarget((started, listening) => { chronos = started; target = listening })

  it('gives every distinct string id its own x-chronos-record-id and idempotency-key', async function () {
    const ids = ['é', '%C3%A9', 'a b', 'a%20b', '%', '%25', '%2525', 'x\n', 'x%0A', '日本', 'plain-id_1.2:3']
    const answer = await chronos.upload(buildUpload(target.port, ids.map((id, n) => ({ id, payload: `p${n}` }))))
    expect(answer.status, answer.text).to.equal(202)
    const jobId: string = answer.json.job_id
    expect(await chronos.waitForState(jobId)).to.include({ state: 'completed', succeeded: ids.length })

    const byPayload = new Map(target.requests.map((req) => [req.body, req]))
    const recordIds = new Set<string>()
    const keys = new Set<string>()
    ids.forEach((id, n) => {
      const req = byPayload.get(`p${n}`)
      expect(req, `request for ${JSON.stringify(id)}`).not.to.equal(undefined)
      const recordId = req?.recordId as string
      expect(decodeURIComponent(recordId), JSON.stringify(id)).to.equal(id)
      expect(req?.idempotencyKey).to.equal(`${jobId}:${recordId}`)
      recordIds.add(recordId)
      keys.add(req?.idempotencyKey as string)
    })
    expect(recordIds.size).to.equal(ids.length)
    expect(keys.size).to.equal(ids.length)
    expect(byPayload.get('p0')?.recordId).to.equal('%C3%A9')
    expect(byPayload.get('p1')?.recordId).to.equal('%25C3%25A9')
    expect(byPayload.get('p10')?.recordId).to.equal('plain-id_1.2:3')
  })

  it('sends the integer 1 and the string "1" with the same header id (ids are unique only by the client\'s promise)', async function () {
    const answer = await chronos.upload(buildUpload(target.port, [{ id: 1, payload: 'int' }, { id: '1', payload: 'text' }]))
    expect(answer.status, answer.text).to.equal(202)
    await chronos.waitForState(answer.json.job_id)
    expect(target.requests.map((req) => req.recordId)).to.deep.equal(['1', '1'])
  })
})
