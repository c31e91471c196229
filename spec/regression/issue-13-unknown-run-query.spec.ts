// Issue 13: POST /run ignored its query string, so a user who guessed `?dry_run=true` (or
// typed `?dryrun=1`) got a real job, sent in full. Unknown query parameters are refused with
// 400 invalid_request naming them; `dry_run` takes only `true` or `false`, once.
//
// Refs: issue 13 (dry run: unknown query parameters on /run)
import { expect } from 'chai'
import { expectError, expectNothingAdded, startChronos, type Chronos } from '../helpers/chronos.js'
import { startTarget, type Target } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'

describe('issue 13: unknown query parameters on POST /run are refused', function () {
  let chronos: Chronos
  let target: Target

  before(async function () {
    target = await startTarget()
    chronos = await startChronos()
  })

  after(async function () {
    await chronos.cleanup()
    await target.close()
  })

  for (const [query, named] of [
    ['dryrun=true', 'dryrun'], ['dry-run=true', 'dry-run'], ['DRY_RUN=true', 'DRY_RUN'], ['test=1', 'test'],
    ['dry_run=1', 'dry_run'], ['dry_run=yes', 'dry_run'], ['dry_run=', 'dry_run'], ['dry_run', 'dry_run'],
    ['dry_run=TRUE', 'dry_run'], ['dry_run=true&dry_run=false', 'dry_run'], ['dry_run=false&x=1', 'x']
  ]) {
    it(`answers POST /run?${query} 400 invalid_request naming "${named}", and keeps nothing`, async function () {
      await expectNothingAdded(chronos, [target], async () => {
        const answer = await chronos.post(`/run?${query}`, buildUpload(target.port, makeRecords(3)), { 'content-type': 'application/x-ndjson' })
        expectError(answer, 400, 'invalid_request')
        expect(answer.json.error.message).to.include(`"${named}"`)
      })
    })
  }

  it('takes ?dry_run=true as a dry run: 200, no job, nothing sent', async function () {
    await expectNothingAdded(chronos, [target], async () => {
      const answer = await chronos.post('/run?dry_run=true', buildUpload(target.port, makeRecords(3)), { 'content-type': 'application/x-ndjson' })
      expect(answer.status, answer.text).to.equal(200)
      expect(answer.json).to.include({ dry_run: true, records: 3 })
      await new Promise((resolve) => setTimeout(resolve, 200)) // a job, had one been made, would have sent by now
    })
  })

  it('takes ?dry_run=false as a real run', async function () {
    const answer = await chronos.post('/run?dry_run=false', buildUpload(target.port, makeRecords(2)), { 'content-type': 'application/x-ndjson' })
    expect(answer.status, answer.text).to.equal(202)
    await chronos.waitForState(answer.json.job_id)
    expect(target.requests).to.have.length(2)
    target.requests.length = 0
  })
})
