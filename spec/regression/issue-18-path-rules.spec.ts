// Issue 18 item 11: a config `path` of "/é" went out as raw non-ASCII bytes, and "/a#frag"
// sent its fragment inside the request line. DESIGN §1: the path is printable ASCII without
// a fragment; both are now refused at upload (percent-encode anything else).
// Refs: issue 18 item 11
import { expect } from 'chai'
import { expectError, expectNothingLeft, useChronosAndTarget, type Chronos } from '../helpers/chronos.js'
import type { Target } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'

describe('issue 18 item 11: the config path', function () {
  let chronos: Chronos
  let target: Target
  useChronosAndTarget((started, listening) => { chronos = started; target = listening })

  for (const path of ['/é', '/caf\u00e9?q=1', '/€', '/a#frag', '/a?q=1#frag', '/#', '/a b', '/x\u007f', '/lone\ud800']) {
    it(`answers 400 invalid_config for ${JSON.stringify(path).replace('\u007f', '\\u007f')} and leaves nothing behind`, async function () {
      const answer = await chronos.upload(buildUpload(target.port, makeRecords(2), { path }))
      expectError(answer, 400, 'invalid_config')
      expect(answer.json.error.details.map((d: { line: number }) => d.line)).to.deep.equal([1])
      // A lone surrogate is refused before the fields are read (issue 18 item 1).
      expect(answer.json.error.message).to.contain(path.isWellFormed() ? '"path"' : 'well-formed Unicode')
      await expectNothingLeft(chronos, target)
    })
  }

  it('sends a percent-encoded path with its query exactly as given', async function () {
    const path = "/caf%C3%A9/a%23b?q=%E2%82%AC&x=[1]&y='2'"
    const answer = await chronos.upload(buildUpload(target.port, makeRecords(2), { path }))
    expect(answer.status, answer.text).to.equal(202)
    await chronos.waitForState(answer.json.job_id)
    expect(target.requests.map((req) => req.url)).to.deep.equal([path, path])
  })
})
