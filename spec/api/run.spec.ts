import { gzipSync } from 'node:zlib'
import { expect } from 'chai'
import { expectNothingLeft, startChronos, type Chronos } from '../helpers/chronos.js'
import { startTarget, type Target } from '../helpers/target.js'
import { buildUpload, makeRecords, seedExample, specLine, uniquePrimaryKey } from '../helpers/ndjson.js'
import { splitEvery } from '../helpers/streams.js'

/** The seed example, byte for byte, but aimed at the loopback target. */
async function seedFor (target: Target, primarykey = uniquePrimaryKey()): Promise<string> {
  return await seedExample(target.port, primarykey)
}

describe('POST /run', function () {
  let chronos: Chronos
  let target: Target

  beforeEach(async function () {
    target = await startTarget()
    chronos = await startChronos()
  })

  afterEach(async function () {
    await chronos.cleanup()
    await target.close()
  })

  describe('with the seed example', function () {
    it('answers 202 and delivers exactly its 4 payloads with their headers', async function () {
      const primarykey = uniquePrimaryKey()
      const answer = await chronos.upload(await seedFor(target, primarykey))
      expect(answer.status).to.equal(202)
      const jobId: string = answer.json.job_id
      expect(jobId).to.match(/^job-[0-9a-f-]{36}$/)
      expect(answer.json).to.deep.equal({
        message: 'Job accepted', job_id: jobId, primarykey, records: 4, status_url: `/status?key=${jobId}`
      })
      expect(answer.headers.get('x-job-id')).to.equal(jobId)
      expect(answer.headers.get('location')).to.equal(`/status?key=${jobId}`)

      const status = await chronos.waitForState(jobId)
      expect(status).to.include({ state: 'completed', total: 4, count: 4, succeeded: 4, failed: 0, pending: 0 })
      expect(status.status_codes).to.deep.equal({ 200: 4 })

      const byId = new Map(target.requests.map((req) => [req.recordId, req]))
      expect([...byId.keys()].sort()).to.deep.equal(['1', '2', '3', '4'])
      const first = byId.get('1')
      expect(first?.method).to.equal('POST')
      expect(first?.url).to.equal('/webhooks/process')
      expect(first?.body).to.equal('{"user_id":"user_001","action":"purchase","amount":99.99}')
      expect(first?.headers).to.include({
        'content-type': 'application/json',
        'idempotency-key': `${jobId}:1`,
        'x-chronos-job-id': jobId,
        'x-chronos-record-id': '1',
        tenant_id: 'tenant-123',
        env: 'production'
      })
      expect(first?.headers['user-agent']).to.match(/^chronos\/\d+\.\d+\.\d+/)
      expect(target.requests).to.have.length(4)
    })

    it('shows the same status by job id and by primarykey', async function () {
      const primarykey = uniquePrimaryKey()
      const { json } = await chronos.upload(await seedFor(target, primarykey))
      const byId = await chronos.waitForState(json.job_id)
      const byKey = await chronos.get(`/status?key=${primarykey}`)
      expect(byKey.status).to.equal(200)
      expect(byKey.json).to.deep.equal(byId)
    })

    it('removes the spool file once the job ends', async function () {
      const { json } = await chronos.upload(await seedFor(target))
      await chronos.waitForState(json.job_id)
      expect(await chronos.spoolFiles()).to.deep.equal([])
    })
  })

  describe('framing', function () {
    const cases: Array<[string, (port: number) => string | Buffer, Record<string, string>?]> = [
      ['CRLF line ends', (port) => buildUpload(port, makeRecords(3)).replace(/\n/g, '\r\n')],
      ['a UTF-8 BOM', (port) => '\uFEFF' + buildUpload(port, makeRecords(3))],
      ['blank and whitespace-only lines, also before line 1', (port) => '\n  \n' + buildUpload(port, makeRecords(3)).replace(/\n/g, '\n \t\n\n')],
      ['no final newline', (port) => buildUpload(port, makeRecords(3)).trimEnd()],
      ['gzip', (port) => gzipSync(buildUpload(port, makeRecords(3))), { 'content-encoding': 'gzip' }],
      ['application/jsonl with charset', (port) => buildUpload(port, makeRecords(3)), { 'content-type': 'application/jsonl; charset=utf-8' }],
      ['application/x-jsonlines', (port) => buildUpload(port, makeRecords(3)), { 'content-type': 'application/x-jsonlines' }]
    ]
    for (const [name, body, headers] of cases) {
      it(`accepts ${name}`, async function () {
        const answer = await chronos.upload(body(target.port), headers)
        expect(answer.status, answer.text).to.equal(202)
        expect(answer.json.records).to.equal(3)
        const status = await chronos.waitForState(answer.json.job_id)
        expect(status).to.include({ state: 'completed', count: 3, succeeded: 3 })
        expect(target.requests.map((req) => req.recordId).sort()).to.deep.equal(['1', '2', '3'])
      })
    }

    it('delivers multi-byte characters intact when every chunk boundary splits them', async function () {
      const payload = JSON.stringify({ text: 'héllo wörld ✓ 日本語 🚀' })
      const upload = buildUpload(target.port, [{ id: 'ü-1', payload }, { id: 2, payload: { emoji: '🚀🚀' } }])
      const chunks = splitEvery(Buffer.from(upload), 1)
      const body = new ReadableStream<Uint8Array>({
        start (controller) {
          for (const chunk of chunks) controller.enqueue(chunk)
          controller.close()
        }
      })
      const response = await fetch(`${chronos.url}/run`, {
        method: 'POST', body, headers: { 'content-type': 'application/x-ndjson' }, duplex: 'half'
      } as RequestInit)
      expect(response.status).to.equal(202)
      const { job_id: jobId } = await response.json() as { job_id: string }
      await chronos.waitForState(jobId)
      const bodies = new Map(target.requests.map((req) => [req.recordId, req.body]))
      expect(bodies.get('ü-1') ?? bodies.get(encodeURIComponent('ü-1'))).to.equal(payload)
      expect(bodies.get('2')).to.equal('{"emoji":"🚀🚀"}')
    })
  })

  describe('rejections', function () {
    it('answers 415 unsupported_media_type for another content type', async function () {
      const answer = await chronos.upload(buildUpload(target.port, makeRecords(1)), { 'content-type': 'text/csv' })
      expect(answer.status).to.equal(415)
      expect(answer.json.error.code).to.equal('unsupported_media_type')
      await expectNothingLeft(chronos, target)
    })

    it('answers 415 unsupported_media_type for an unknown content encoding', async function () {
      const answer = await chronos.upload(buildUpload(target.port, makeRecords(1)), { 'content-encoding': 'br' })
      expect(answer.status).to.equal(415)
      expect(answer.json.error.code).to.equal('unsupported_media_type')
      await expectNothingLeft(chronos, target)
    })

    it('answers 400 empty_job for an empty body', async function () {
      const answer = await chronos.upload('')
      expect(answer.status).to.equal(400)
      expect(answer.json.error.code).to.equal('empty_job')
      await expectNothingLeft(chronos, target)
    })

    it('answers 400 empty_job for a config line and no records', async function () {
      const answer = await chronos.upload(specLine(target.port) + '\n\n  \n')
      expect(answer.status).to.equal(400)
      expect(answer.json.error.code).to.equal('empty_job')
      await expectNothingLeft(chronos, target)
    })

    it('answers 400 invalid_config naming an unknown field', async function () {
      const answer = await chronos.upload(buildUpload(target.port, makeRecords(2), { concurency: 5 }))
      expect(answer.status).to.equal(400)
      expect(answer.json.error.code).to.equal('invalid_config')
      expect(answer.json.error.message).to.contain('concurency')
      expect(answer.json.error.details[0].line).to.equal(1)
      await expectNothingLeft(chronos, target)
    })

    it('answers 400 invalid_record with 1-based physical line numbers', async function () {
      const upload = ['', specLine(target.port), '{"id":1,"payload":"a"}', '', '{"id":true,"payload":"b"}', 'not json', '{"id":4,"payload":7}'].join('\n')
      const answer = await chronos.upload(upload)
      expect(answer.status).to.equal(400)
      expect(answer.json.error.code).to.equal('invalid_record')
      expect(answer.json.error.details.map((d: { line: number }) => d.line)).to.deep.equal([5, 6, 7])
      await expectNothingLeft(chronos, target)
    })

    it('lists at most 20 invalid lines', async function () {
      const lines = [specLine(target.port)]
      for (let i = 0; i < 50; i++) lines.push('{"id":1}')
      const answer = await chronos.upload(lines.join('\n'))
      expect(answer.status).to.equal(400)
      expect(answer.json.error.details).to.have.length(20)
      await expectNothingLeft(chronos, target)
    })

    it('answers 400 invalid_record for a line that is not UTF-8', async function () {
      const upload = Buffer.concat([Buffer.from(specLine(target.port) + '\n{"id":1,"payload":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}\n')])
      const answer = await chronos.upload(upload)
      expect(answer.status).to.equal(400)
      expect(answer.json.error.code).to.equal('invalid_record')
      expect(answer.json.error.details).to.deep.equal([{ line: 2, reason: 'not valid UTF-8' }])
      await expectNothingLeft(chronos, target)
    })

    it('answers 413 payload_too_large for a body over the limit', async function () {
      await chronos.cleanup()
      chronos = await startChronos({ CHRONOS_MAX_UPLOAD_BYTES: '2000' })
      const answer = await chronos.upload(buildUpload(target.port, makeRecords(100)))
      expect(answer.status).to.equal(413)
      expect(answer.json.error.code).to.equal('payload_too_large')
      await expectNothingLeft(chronos, target)
    })

    it('answers 413 payload_too_large for a gzip body that inflates over the limit', async function () {
      await chronos.cleanup()
      chronos = await startChronos({ CHRONOS_MAX_UPLOAD_BYTES: '100000' })
      const bomb = gzipSync(specLine(target.port) + '\n' + ' '.repeat(5_000_000))
      expect(bomb.length).to.be.below(10_000)
      const answer = await chronos.upload(bomb, { 'content-encoding': 'gzip' })
      expect(answer.status).to.equal(413)
      expect(answer.json.error.code).to.equal('payload_too_large')
      await expectNothingLeft(chronos, target)
    })

    it('answers 413 line_too_large naming the line', async function () {
      await chronos.cleanup()
      chronos = await startChronos({ CHRONOS_MAX_LINE_BYTES: '1024' })
      const upload = [specLine(target.port), '{"id":1,"payload":"ok"}', JSON.stringify({ id: 2, payload: 'x'.repeat(2000) })].join('\n')
      const answer = await chronos.upload(upload)
      expect(answer.status).to.equal(413)
      expect(answer.json.error.code).to.equal('line_too_large')
      expect(answer.json.error.details[0].line).to.equal(3)
      await expectNothingLeft(chronos, target)
    })

    it('answers 400 invalid_request for a body that is not gzip', async function () {
      const answer = await chronos.upload('definitely not gzip', { 'content-encoding': 'gzip' })
      expect(answer.status).to.equal(400)
      expect(answer.json.error.code).to.equal('invalid_request')
      await expectNothingLeft(chronos, target)
    })

    it('answers 409 job_conflict with the live job id for a primarykey in use', async function () {
      target.close()
      const slow = await startTarget(() => ({ delayMs: 2000 }))
      try {
        const primarykey = uniquePrimaryKey()
        const first = await chronos.upload(buildUpload(slow.port, makeRecords(2), { primarykey }))
        expect(first.status).to.equal(202)
        const second = await chronos.upload(buildUpload(slow.port, makeRecords(2), { primarykey }))
        expect(second.status).to.equal(409)
        expect(second.json.error.code).to.equal('job_conflict')
        expect(second.json.error.job_id).to.equal(first.json.job_id)
        await chronos.waitForState(first.json.job_id)
        const third = await chronos.upload(buildUpload(slow.port, makeRecords(1), { primarykey }))
        expect(third.status).to.equal(202)
        await chronos.waitForState(third.json.job_id)
        expect((await chronos.get(`/status?key=${primarykey}`)).json.job_id).to.equal(third.json.job_id)
      } finally {
        await slow.close()
      }
    })

    it('answers 403 target_forbidden for a link-local target', async function () {
      const answer = await chronos.upload(buildUpload(80, makeRecords(1), { host: '169.254.169.254' }))
      expect(answer.status).to.equal(403)
      expect(answer.json.error.code).to.equal('target_forbidden')
      await expectNothingLeft(chronos, target)
    })
  })

  it('takes concurrent uploads as separate jobs', async function () {
    const uploads = await Promise.all([1, 2, 3, 4, 5].map(async (n) =>
      await chronos.upload(buildUpload(target.port, makeRecords(50, n * 1000)))))
    expect(uploads.map((answer) => answer.status)).to.deep.equal([202, 202, 202, 202, 202])
    const ids = new Set(uploads.map((answer) => answer.json.job_id))
    expect(ids.size).to.equal(5)
    for (const id of ids) expect(await chronos.waitForState(id)).to.include({ state: 'completed', count: 50, succeeded: 50 })
    expect(target.requests).to.have.length(250)
  })
})
