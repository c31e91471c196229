// Issue 18 item 12: a config line with a repeated field, such as
// `{"primarykey":"a",…,"primarykey":"b"}`, was accepted and JSON.parse silently kept the last
// value, so the job could run against a target or key the user did not mean. Now it is
// 400 invalid_config naming the field (also inside metadata entries, and when the repeat is
// spelled with escapes), and nothing is left behind.
//
// Refs: issue 18 item 12
import { expect } from 'chai'
import { expectError, expectNothingAdded, startChronos, type Chronos } from '../helpers/chronos.js'
import { makeRecords, uniquePrimaryKey } from '../helpers/ndjson.js'
import { startTarget, type Target } from '../helpers/target.js'

describe('issue 18: a repeated field on the config line is refused', function () {
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

  function upload (configLine: string): string {
    return [configLine, ...makeRecords(2).map((record) => JSON.stringify(record))].join('\n') + '\n'
  }

  const base = (): string => `"protocol":"http","host":"127.0.0.1","port":${target.port},"path":"/ingest"`

  const cases: Array<[string, () => string, string]> = [
    ['primarykey given twice', () => `{"primarykey":"${uniquePrimaryKey()}",${base()},"primarykey":"${uniquePrimaryKey()}"}`, 'primarykey'],
    ['port given twice with the same value', () => `{"primarykey":"${uniquePrimaryKey()}",${base()},"port":${target.port}}`, 'port'],
    ['host repeated through a \\u escape', () => `{"primarykey":"${uniquePrimaryKey()}",${base()},"h\\u006fst":"127.0.0.2"}`, 'host'],
    ['a metadata entry with two values', () => `{"primarykey":"${uniquePrimaryKey()}",${base()},"metadata":[{"key":"x-a","value":"1","value":"2"}]}`, 'metadata[0].value']
  ]

  for (const [name, line, field] of cases) {
    it(`answers 400 invalid_config naming "${field}" for ${name}, and leaves nothing`, async function () {
      await expectNothingAdded(chronos, [target], async () => {
        const answer = await chronos.upload(upload(line()))
        expectError(answer, 400, 'invalid_config')
        expect(answer.json.error.message).to.include(`field "${field}" is repeated`)
        expect(answer.json.error.details).to.deep.equal([{ line: 1, reason: `field "${field}" is repeated` }])
      })
    })
  }

  it('still accepts the same field names in different metadata entries', async function () {
    const line = `{"primarykey":"${uniquePrimaryKey()}",${base()},"metadata":[{"key":"x-a","value":"1"},{"key":"x-b","value":"2"}]}`
    const answer = await chronos.upload(upload(line))
    expect(answer.status, answer.text).to.equal(202)
    await chronos.waitForState(answer.json.job_id)
  })
})
