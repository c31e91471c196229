// POST /run with Content-Type: application/json (DESIGN §10): one {config, records} document
// in either member order, streamed through stream-json into the same spool format as NDJSON,
// with the same rules, limits, answers and guarantees; errors name records by 0-based index.
// Refs: issue 15
import { request as httpRequest } from 'node:http'
import { gzipSync } from 'node:zlib'
import { expect } from 'chai'
import { expectNothingAdded, expectNothingLeft, startChronos, useChronosAndTarget, type Chronos, type HttpAnswer } from '../helpers/chronos.js'
import { eventually } from '../helpers/ledger.js'
import { startTarget, type Target } from '../helpers/target.js'
import { makeRecords, specLine, uniquePrimaryKey, type SpecFields } from '../helpers/ndjson.js'

const JSON_TYPE = { 'content-type': 'application/json' }

function configFor (target: Target, fields: SpecFields = {}): Record<string, unknown> {
  return JSON.parse(specLine(target.port, fields)) as Record<string, unknown>
}

/** The document text, config first unless `recordsFirst`. */
function documentText (config: unknown, records: unknown[], recordsFirst = false): string {
  const configText = `"config":${JSON.stringify(config)}`
  const recordsText = `"records":[${records.map((record) => JSON.stringify(record)).join(',')}]`
  return recordsFirst ? `{${recordsText},${configText}}` : `{${configText},${recordsText}}`
}

describe('POST /run with a JSON document', function () {
  let chronos: Chronos
  let target: Target
  useChronosAndTarget((started, listening) => { chronos = started; target = listening })

  async function upload (body: string | Buffer, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    return await chronos.upload(body, { ...JSON_TYPE, ...headers })
  }

  async function expectRefused (body: string | Buffer, status: number, code: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
    let answer: HttpAnswer | undefined
    await expectNothingAdded(chronos, [target], async () => {
      answer = await upload(body, headers)
      expect(answer.status, JSON.stringify(answer.json)).to.equal(status)
      expect(answer.json.error.code).to.equal(code)
    })
    await expectNothingLeft(chronos, target)
    return answer as HttpAnswer
  }

  describe('valid jobs', function () {
    for (const recordsFirst of [false, true]) {
      it(`delivers and counts every record, ${recordsFirst ? 'records before config' : 'config first'}`, async function () {
        const primarykey = uniquePrimaryKey()
        const records = [...makeRecords(3), { id: 'obj', payload: { deep: [1, { two: 'ü🚀' }] }, ignored: { x: 1 } }]
        const answer = await upload(documentText(configFor(target, { primarykey }), records, recordsFirst) + '\n', {
          'content-type': 'application/json; charset=utf-8'
        })
        expect(answer.status, JSON.stringify(answer.json)).to.equal(202)
        expect(answer.json).to.deep.include({ message: 'Job accepted', primarykey, records: 4 })
        const status = await chronos.waitForState(answer.json.job_id)
        expect(status).to.include({ state: 'completed', total: 4, count: 4, succeeded: 4, failed: 0 })
        const bodies = new Map(target.requests.map((req) => [req.recordId, req.body]))
        expect(bodies.get('1')).to.equal(JSON.stringify({ n: 1, user: 'user_1' }))
        expect(bodies.get('obj')).to.equal('{"deep":[1,{"two":"ü🚀"}]}')
        expect(target.requests).to.have.length(4)
      })
    }

    it('takes whitespace, a BOM and gzip', async function () {
      const text = '\ufeff {\n "config" : ' + JSON.stringify(configFor(target), null, 2) + ' ,\n "records": [ {"payload": "a", "id": 1} ,\n{"id":2,"payload":"b"} ] }\n\n'
      const answer = await upload(gzipSync(text), { 'content-encoding': 'gzip' })
      expect(answer.status, JSON.stringify(answer.json)).to.equal(202)
      expect(await chronos.waitForState(answer.json.job_id)).to.include({ state: 'completed', succeeded: 2 })
    })
  })

  describe('invalid config', function () {
    const cases: Array<[string, (target: Target) => string]> = [
      ['an unknown field', (t) => documentText(configFor(t, { concurency: 5 }), makeRecords(1))],
      ['a missing field', (t) => documentText({ ...configFor(t), host: undefined }, makeRecords(1))],
      ['a config that is not an object', () => documentText('cfg', makeRecords(1))],
      ['a repeated config field', (t) => `{"config":${JSON.stringify(configFor(t)).replace('{', '{"port":1,')},"records":[{"id":1,"payload":"a"}]}`],
      ['a lone surrogate', (t) => documentText(configFor(t, { metadata: [{ key: 'k', value: '\\ud800' }] }), makeRecords(1)).replace('\\\\ud800', '\\ud800')],
      ['two config members', (t) => `{"config":${JSON.stringify(configFor(t))},"config":${JSON.stringify(configFor(t))},"records":[]}`],
      ['no config member', () => '{"records":[{"id":1,"payload":"a"}]}'],
      ['a config nested too deep', () => `{"config":{"metadata":${'['.repeat(50)}${']'.repeat(50)}},"records":[]}`],
      ['an invalid config after the records', (t) => documentText(configFor(t, { protocol: 'ftp' }), makeRecords(3), true)]
    ]
    for (const [name, body] of cases) {
      it(`answers 400 invalid_config for ${name}`, async function () {
        const answer = await expectRefused(body(target), 400, 'invalid_config')
        expect(answer.json.error.details.length).to.be.above(0)
        for (const detail of answer.json.error.details) expect(detail).to.have.keys('reason')
      })
    }
  })

  describe('invalid records', function () {
    it('names each invalid record by its 0-based index and reason', async function () {
      const records = [
        { id: 1, payload: 'ok' }, { id: true, payload: 'b' }, 'not an object', { id: 3, payload: 7 }, { id: 4 },
        { id: 'x'.repeat(300), payload: 'a' }, { id: 6, payload: JSON.parse(`${'['.repeat(70)}${']'.repeat(70)}`) }, [1, 2], null
      ]
      for (const recordsFirst of [false, true]) {
        const answer = await expectRefused(documentText(configFor(target), records, recordsFirst), 400, 'invalid_record')
        expect(answer.json.error.details).to.deep.equal([
          { record: 1, reason: '"id" must be a string or an integer' },
          { record: 2, reason: 'not a JSON object' },
          { record: 3, reason: '"payload" must be a string, an object or an array' },
          { record: 4, reason: '"payload" must be a string, an object or an array' },
          { record: 5, reason: '"id" must be at most 256 bytes of UTF-8' },
          { record: 6, reason: '"payload" may nest objects and arrays at most 64 levels deep' },
          { record: 7, reason: 'not a JSON object' },
          { record: 8, reason: 'not a JSON object' }
        ])
      }
    })

    it('refuses a lone surrogate in a payload', async function () {
      const text = documentText(configFor(target), [{ id: 0, payload: 'ok' }, { id: 1, payload: 'X' }]).replace('"X"', '"\\udc00"')
      const answer = await expectRefused(text, 400, 'invalid_record')
      expect(answer.json.error.details).to.deep.equal([{ record: 1, reason: '"id" and "payload" must be well-formed Unicode (no lone surrogate escape such as \\ud800)' }])
    })

    it('lists at most 20 invalid records', async function () {
      const records = Array.from({ length: 50 }, (_, i) => ({ id: i }))
      const answer = await expectRefused(documentText(configFor(target), records), 400, 'invalid_record')
      expect(answer.json.error.details).to.have.length(20)
      expect(answer.json.error.details[19].record).to.equal(19)
    })
  })

  describe('wrong shapes', function () {
    const cases: Array<[string, string, (target: Target) => string]> = [
      ['records that are not an array', 'invalid_request', (t) => `{"config":${JSON.stringify(configFor(t))},"records":{"id":1,"payload":"a"}}`],
      ['a top-level array', 'invalid_request', (t) => `[${JSON.stringify(configFor(t))}]`],
      ['a top-level string', 'invalid_request', () => '"config"'],
      ['trailing data after the document', 'invalid_request', (t) => documentText(configFor(t), makeRecords(1)) + ' {}'],
      ['two documents', 'invalid_request', (t) => documentText(configFor(t), makeRecords(1)) + documentText(configFor(t), makeRecords(1))],
      ['a truncated document', 'invalid_request', (t) => documentText(configFor(t), makeRecords(3)).slice(0, -2)],
      ['a document cut inside a string', 'invalid_request', (t) => documentText(configFor(t), makeRecords(3)).slice(0, -10)],
      ['malformed JSON', 'invalid_request', (t) => documentText(configFor(t), makeRecords(3)).replace('},{', '} {')],
      ['an unknown top-level member', 'invalid_request', (t) => `{"config":${JSON.stringify(configFor(t))},"extra":1,"records":[]}`],
      ['a long unknown member name', 'invalid_request', () => `{"${'k'.repeat(1_000_000)}":1}`],
      ['two records members', 'invalid_request', (t) => `{"config":${JSON.stringify(configFor(t))},"records":[{"id":1,"payload":"a"}],"records":[]}`],
      ['deep nesting in the document', 'invalid_request', () => `{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`],
      ['deep nesting in a record member', 'invalid_record', (t) => `{"config":${JSON.stringify(configFor(t))},"records":[{"id":1,"payload":${'['.repeat(100_000)}${']'.repeat(100_000)}}]}`],
      ['invalid UTF-8', 'invalid_request', (t) => documentText(configFor(t), [{ id: 1, payload: 'INVALID' }])],
      ['an empty body', 'empty_job', () => ''],
      ['a blank body', 'empty_job', () => ' \n\t '],
      ['an empty object', 'empty_job', () => '{}'],
      ['a config and no records', 'empty_job', (t) => documentText(configFor(t), [])],
      ['a config and no records member', 'empty_job', (t) => `{"config":${JSON.stringify(configFor(t))}}`]
    ]
    for (const [name, code, body] of cases) {
      it(`answers 400 ${code} for ${name}`, async function () {
        const text = body(target)
        const bytes = text.includes('INVALID')
          ? Buffer.concat(text.split('INVALID').flatMap((part, i) => i === 0 ? [Buffer.from(part)] : [Buffer.from([0xc3, 0x28]), Buffer.from(part)]))
          : text
        await expectRefused(bytes, 400, code)
      })
    }
  })

  describe('limits', function () {
    it('answers 413 payload_too_large for a body over the limit, gzip or not', async function () {
      await chronos.cleanup()
      chronos = await startChronos({ CHRONOS_MAX_UPLOAD_BYTES: '2000' })
      const text = documentText(configFor(target), makeRecords(100))
      await expectRefused(text, 413, 'payload_too_large')
      await expectRefused(gzipSync(text), 413, 'payload_too_large', { 'content-encoding': 'gzip' })
    })

    it('answers 413 line_too_large naming the record over the per-record limit', async function () {
      await chronos.cleanup()
      chronos = await startChronos({ CHRONOS_MAX_LINE_BYTES: '1024' })
      const records = [{ id: 0, payload: 'ok' }, { id: 1, payload: 'x'.repeat(5000) }]
      for (const recordsFirst of [false, true]) {
        const answer = await expectRefused(documentText(configFor(target), records, recordsFirst), 413, 'line_too_large')
        expect(answer.json.error.details).to.deep.equal([{ record: 1, reason: 'longer than 1024 bytes' }])
      }
      const ignored = [{ id: 0, payload: 'ok', other: 'y'.repeat(5000) }]
      await expectRefused(documentText(configFor(target), ignored), 413, 'line_too_large')
      const config = configFor(target, { metadata: [{ key: 'k', value: 'v'.repeat(2000) }] })
      await expectRefused(documentText(config, makeRecords(1)), 413, 'line_too_large')
    })
  })

  it('answers 409 job_conflict for a primarykey in use, config first or last', async function () {
    const slow = await startTarget(() => ({ delayMs: 1500 }))
    try {
      const primarykey = uniquePrimaryKey()
      const config = { ...configFor(slow, { primarykey }) }
      const first = await upload(documentText(config, makeRecords(2)))
      expect(first.status).to.equal(202)
      const others = async (): Promise<string[]> => (await chronos.spoolFiles()).filter((name) => !name.startsWith(first.json.job_id))
      for (const recordsFirst of [false, true]) {
        const answer = await upload(documentText(config, makeRecords(2), recordsFirst))
        expect(answer.status).to.equal(409)
        expect(await others()).to.deep.equal([])
        expect(answer.json.error.job_id).to.equal(first.json.job_id)
      }
      await chronos.waitForState(first.json.job_id)
    } finally {
      await slow.close()
    }
  })

  it('leaves nothing behind when the client aborts mid-upload', async function () {
    for (const recordsFirst of [false, true]) {
      const req = httpRequest(`${chronos.url}/run`, { method: 'POST', headers: JSON_TYPE })
      req.on('error', () => {})
      const text = documentText(configFor(target), makeRecords(2000), recordsFirst)
      req.write(text.slice(0, Math.floor(text.length / 2)))
      await eventually(async () => expect((await chronos.spoolFiles()).length).to.equal(1))
      req.destroy()
      await eventually(async () => await expectNothingLeft(chronos, target))
    }
  })
})
