// Issue 18 item 1 (upload half): a record whose id held a lone surrogate escape
// ({"id":"\ud800","payload":"b"}) passed the upload, then made encodeURIComponent throw a
// URIError when sent; a payload nested ~100,000 arrays deep (346 bytes gzipped) made
// JSON.stringify throw a RangeError. Nothing caught either: the process died, and died
// again on every restart. Now the upload refuses both, with the line, and leaves nothing.
// Refs: issue 18 item 1
import { gzipSync } from 'node:zlib'
import { expect } from 'chai'
import { expectError, expectNothingLeft, useChronosAndTarget, type Chronos } from '../helpers/chronos.js'
import type { Target } from '../helpers/target.js'
import { specLine } from '../helpers/ndjson.js'

describe('issue 18 item 1: POST /run refuses what could not be sent', function () {
  let chronos: Chronos
  let target: Target
  useChronosAndTarget((started, listening) => { chronos = started; target = listening })

  const poison: Array<[string, string, string]> = [
    ['a lone high surrogate as the id', '{"id":"\\ud800","payload":"b"}', 'well-formed Unicode'],
    ['a lone low surrogate inside the id', '{"id":"order-\\uDC00-7","payload":"b"}', 'well-formed Unicode'],
    ['a lone surrogate in a string payload', '{"id":3,"payload":"{\\"name\\":\\"x\\ud800\\"}"}', 'well-formed Unicode'],
    ['a lone surrogate in an object payload', '{"id":3,"payload":{"name":["ok","\\udfff"]}}', 'well-formed Unicode'],
    ['a lone surrogate as an object payload key', '{"id":3,"payload":{"\\ud800":1}}', 'well-formed Unicode'],
    ['a payload nested 100,000 arrays deep', `{"id":3,"payload":${'['.repeat(100_000)}${']'.repeat(100_000)}}`, '64 levels'],
    ['a payload nested 65 objects deep', `{"id":3,"payload":${'{"a":'.repeat(65)}1${'}'.repeat(65)}}`, '64 levels']
  ]
  for (const [what, line, reason] of poison) {
    it(`answers 400 invalid_record on its line for ${what}, and leaves nothing behind`, async function () {
      const body = [specLine(target.port), '{"id":1,"payload":"a"}', '', line, '{"id":4,"payload":"d"}'].join('\n') + '\n'
      for (const [upload, headers] of [[body, {}], [gzipSync(body), { 'content-encoding': 'gzip' }]] as const) {
        const answer = await chronos.upload(upload, headers)
        expectError(answer, 400, 'invalid_record')
        expect(answer.json.error.details).to.have.lengthOf(1)
        expect(answer.json.error.details[0].line).to.equal(4)
        expect(answer.json.error.details[0].reason).to.contain(reason)
        await expectNothingLeft(chronos, target)
      }
    })
  }

  it('answers 400 invalid_config for a lone surrogate in the config line', async function () {
    const config = specLine(target.port, { callback_url: 'http://127.0.0.1/done\ud800' })
    expect(config).to.contain('\\ud800')
    const answer = await chronos.upload(`${config}\n{"id":1,"payload":"a"}\n`)
    expectError(answer, 400, 'invalid_config')
    expect(answer.json.error.details).to.deep.equal([{ line: 1, reason: 'strings must be well-formed Unicode (no lone surrogate escape such as \\ud800)' }])
    await expectNothingLeft(chronos, target)
  })

  it('still accepts and sends surrogate pairs, and a payload 64 levels deep', async function () {
    const deep = '['.repeat(64) + ']'.repeat(64)
    const body = [specLine(target.port), '{"id":"\\ud83d\\ude00","payload":"\\uD83D\\uDE00"}', `{"id":2,"payload":${deep}}`].join('\n')
    const answer = await chronos.upload(body)
    expect(answer.status, answer.text).to.equal(202)
    const status = await chronos.waitForState(answer.json.job_id)
    expect(status).to.include({ state: 'completed', succeeded: 2, failed: 0 })
    const bodies = target.requests.map((req) => req.body).sort()
    expect(bodies).to.deep.equal([deep, '😀'].sort())
    expect(target.requests.map((req) => req.recordId).sort()).to.deep.equal(['%F0%9F%98%80', '2'])
  })
})
