// GET /jobs with API keys paged the whole index first and filtered by owner after, so a
// key whose jobs were interleaved with another key's got short pages (even empty ones while
// more of its jobs followed) and a next_offset that counted the other key's jobs.
// Now each page is a full page of the caller's own jobs.
// Refs: issue 14 item 4 (GET /jobs per DESIGN §9)
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { startChronos, type Chronos } from '../helpers/chronos.js'
import { startTarget, type Target } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'

const KEYS = ['key-one', 'key-two']
const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` })

describe('issue 14: GET /jobs pages with API keys', function () {
  let chronos: Chronos
  let target: Target

  beforeEach(async function () {
    target = await startTarget()
    chronos = await startChronos({ CHRONOS_API_KEYS: KEYS.join(',') })
  })

  afterEach(async function () {
    await chronos.cleanup()
    await target.close()
  })

  it('answers full pages of the caller\'s own jobs when other keys\' jobs are interleaved', async function () {
    const own: string[] = []
    for (let n = 0; n < 6; n++) {
      const key = KEYS[n % 2] as string
      const answer = await chronos.upload(buildUpload(target.port, makeRecords(1)), bearer(key))
      expect(answer.status, answer.text).to.equal(202)
      if (n % 2 === 0) own.push(answer.json.job_id)
      await sleep(5)
    }
    const seen: string[] = []
    const pageSizes: number[] = []
    let query = '/jobs?limit=2'
    for (let page = 0; page < 5; page++) {
      const answer = await chronos.get(query, bearer('key-one'))
      expect(answer.status, answer.text).to.equal(200)
      pageSizes.push(answer.json.jobs.length)
      seen.push(...answer.json.jobs.map((job: { job_id: string }) => job.job_id))
      if (answer.json.next_offset === null) break
      query = `/jobs?limit=2&offset=${String(answer.json.next_offset)}`
    }
    expect(pageSizes).to.deep.equal([2, 1])
    expect(seen).to.deep.equal([...own].reverse())
  })
})
