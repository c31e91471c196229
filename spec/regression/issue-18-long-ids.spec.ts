// Issue 18 item 7: ids had no length limit, and the results list keeps every record's id for
// CHRONOS_RESULT_TTL: 200 records with 500 KiB ids added 104 MB to Redis. String ids are now
// capped at 256 UTF-8 bytes at upload, so a stored result is the id plus a few fixed fields.
// Refs: issue 18 item 7
import { expect } from 'chai'
import { expectError, expectNothingLeft, results, useChronosAndTarget, type Chronos } from '../helpers/chronos.js'
import type { Target } from '../helpers/target.js'
import { buildUpload } from '../helpers/ndjson.js'

describe('issue 18 item 7: ids are at most 256 bytes', function () {
  let chronos: Chronos
  let target: Target
  useChronosAndTarget((started, listening) => { chronos = started; target = listening })

  const tooLong: Array<[string, string]> = [
    ['a 500 KiB id', 'i'.repeat(500 * 1024)],
    ['a 257-byte ASCII id', 'i'.repeat(257)],
    ['an id of 86 three-byte characters (258 bytes)', '€'.repeat(86)]
  ]
  for (const [what, id] of tooLong) {
    it(`answers 400 invalid_record for ${what}, naming the line and the limit, and stores nothing`, async function () {
      const records = [{ id: 1, payload: 'a' }, { id, payload: 'b' }, { id: 3, payload: 'c' }]
      const answer = await chronos.upload(buildUpload(target.port, records))
      expectError(answer, 400, 'invalid_record')
      expect(answer.json.error.details).to.deep.equal([{ line: 3, reason: '"id" must be at most 256 bytes of UTF-8' }])
      await expectNothingLeft(chronos, target)
    })
  }

  it('accepts 256-byte ids, and a stored result is that id plus a few fixed fields', async function () {
    const ids = Array.from({ length: 50 }, (_, n) => `${n}`.padStart(256, 'x'))
    ids.push('é'.repeat(128), '€'.repeat(85) + 'z')
    const answer = await chronos.upload(buildUpload(target.port, ids.map((id) => ({ id, payload: 'p' }))))
    expect(answer.status, answer.text).to.equal(202)
    const jobId: string = answer.json.job_id
    expect(await chronos.waitForState(jobId)).to.include({ state: 'completed', succeeded: ids.length })
    expect((await results(chronos, jobId)).map((line) => line.id).sort()).to.deep.equal([...ids].sort())

    // The results list: per record "ok \t status \t attempts \t time_ms \t error \t id_json".
    const stored = (await chronos.redis.lrange(`${chronos.prefix}:job:{${jobId}}:results`, 0, -1)).join('\n').split('\n')
    expect(stored).to.have.lengthOf(ids.length)
    for (const line of stored) expect(Buffer.byteLength(line)).to.be.at.most(256 + 2 + 40)
  })
})
