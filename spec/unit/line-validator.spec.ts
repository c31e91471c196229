// createLineValidator(): raw upload bytes in, spool bytes out (DESIGN §1 framing and §6 shape).
// Every case runs the real stream through stream/promises pipeline(), with the chunk
// boundaries chosen by the test: mid-line, mid-CRLF and mid-character.
import { expect } from 'chai'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import {
  ChronosError, EmptyJobError, InvalidConfigError, InvalidRecordError, LineTooLargeError,
  PayloadTooLargeError, TargetForbiddenError
} from '../../lib/errors.js'
import type { JobSpec, JobSpecLimits } from '../../lib/domain/job-spec.js'
import { createLineValidator, MAX_DETAILS, type LineValidator, type LineValidatorOptions } from '../../lib/upload/line-validator.js'

const SPEC_LIMITS: JobSpecLimits = { defaultConcurrency: 4, maxConcurrency: 256, defaultTimeoutMs: 30_000, defaultMaxAttempts: 3 }
const MAX_LINE_BYTES = 256

/** ../shared/fixtures/seed-example.ndjson, byte for byte. */
const SEED = [
  '{"primarykey":"batch-001","protocol":"https","host":"api.example.com","port":"443","path":"/webhooks/process","metadata":[{"key":"tenant_id","value":"tenant-123"},{"key":"env","value":"production"}]}',
  '{"id":1,"payload":"{\\"user_id\\":\\"user_001\\",\\"action\\":\\"purchase\\",\\"amount\\":99.99}"}',
  '{"id":2,"payload":"{\\"user_id\\":\\"user_002\\",\\"action\\":\\"review\\",\\"rating\\":5}"}',
  '{"id":3,"payload":"{\\"user_id\\":\\"user_003\\",\\"action\\":\\"signup\\",\\"email\\":\\"user3@example.com\\"}"}',
  '{"id":4,"payload":"{\\"user_id\\":\\"user_004\\",\\"action\\":\\"login\\",\\"timestamp\\":\\"2026-01-21T10:30:00Z\\"}"}'
].map((line) => line + '\n').join('')

/** Line 1 of the seed's spool: the resolved spec in wire form. */
const SEED_WIRE = '{"primarykey":"batch-001","protocol":"https","host":"api.example.com","port":443,"path":"/webhooks/process",' +
  '"metadata":[{"key":"tenant_id","value":"tenant-123"},{"key":"env","value":"production"}],' +
  '"method":"POST","concurrency":4,"rate_limit":null,"timeout_ms":30000,"max_attempts":3,"callback_url":null}'

const CONFIG = '{"primarykey":"k","protocol":"http","host":"127.0.0.1","port":8080,"path":"/"}'
const CONFIG_WIRE = '{"primarykey":"k","protocol":"http","host":"127.0.0.1","port":8080,"path":"/","metadata":[],' +
  '"method":"POST","concurrency":4,"rate_limit":null,"timeout_ms":30000,"max_attempts":3,"callback_url":null}'

const BOM = Buffer.from([0xef, 0xbb, 0xbf])

const record = (id: number | string, payload = 'p'): string => JSON.stringify({ id, payload })

/** A record line of exactly `bytes` bytes (ASCII). */
function recordOfLength (bytes: number): string {
  const empty = record(1, '')
  return record(1, 'x'.repeat(bytes - empty.length))
}

function splitEvery (bytes: Buffer, n: number): Buffer[] {
  const pieces: Buffer[] = []
  for (let start = 0; start < bytes.length; start += n) pieces.push(bytes.subarray(start, start + n))
  return pieces
}

const toBuffer = (chunk: Buffer | string): Buffer => typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk

interface Run {
  spool: string
  validator: LineValidator
}

function makeValidator (options: Partial<LineValidatorOptions>): LineValidator {
  return createLineValidator({ maxLineBytes: MAX_LINE_BYTES, maxUploadBytes: 1024 * 1024, specLimits: SPEC_LIMITS, ...options })
}

/** Feeds the chunks, exactly as given, and collects what the validator writes. */
async function runChunks (chunks: ReadonlyArray<Buffer | string>, options: Partial<LineValidatorOptions> = {}): Promise<Run & { written: Buffer[] }> {
  const validator = makeValidator(options)
  const written: Buffer[] = []
  const sink = new Writable({
    write (chunk: Buffer, _encoding, callback) {
      written.push(chunk)
      callback()
    }
  })
  const run = { spool: '', validator, written }
  await pipeline(Readable.from(chunks.map(toBuffer).filter((chunk) => chunk.length > 0)), validator, sink)
  run.spool = Buffer.concat(written).toString('utf8')
  return run
}

async function run (body: Buffer | string, options: Partial<LineValidatorOptions> = {}): Promise<Run> {
  return await runChunks([body], options)
}

/** The error the pipeline fails with; asserts its class and code. */
async function failure<T extends ChronosError> (
  ErrorType: abstract new (...args: never[]) => T, code: string,
  chunks: ReadonlyArray<Buffer | string>, options: Partial<LineValidatorOptions> = {}
): Promise<T> {
  const err: unknown = await expect(runChunks(chunks, options)).to.be.rejectedWith(ErrorType)
  expect((err as T).code).to.equal(code)
  return err as T
}

const lines = (...list: string[]): string => list.map((line) => line + '\n').join('')

describe('createLineValidator()', () => {
  describe('with the seed example', () => {
    it('writes the resolved spec, then the records verbatim', async () => {
      const { spool, validator } = await run(SEED)
      expect(spool).to.equal(SEED_WIRE + '\n' + SEED.slice(SEED.indexOf('\n') + 1))
      expect(validator.records).to.equal(4)
    })

    it('exposes the parsed spec', async () => {
      const { validator } = await run(SEED)
      expect(validator.spec?.primaryKey).to.equal('batch-001')
      expect(validator.spec?.port).to.equal(443)
      expect(validator.spec?.metadata).to.have.lengthOf(2)
    })

    for (const n of [1, 2, 3, 7, 64]) {
      it(`gives the same spool when split every ${n} bytes`, async () => {
        const whole = await run(SEED)
        const split = await runChunks(splitEvery(Buffer.from(SEED), n))
        expect(split.spool).to.equal(whole.spool)
        expect(split.validator.records).to.equal(4)
      })
    }
  })

  describe('framing', () => {
    const expected = CONFIG_WIRE + '\n' + lines(record(1), record(2))
    const bodies: Array<[string, Buffer | string]> = [
      ['LF line ends', lines(CONFIG, record(1), record(2))],
      ['CRLF line ends', `${CONFIG}\r\n${record(1)}\r\n${record(2)}\r\n`],
      ['mixed LF and CRLF', `${CONFIG}\n${record(1)}\r\n${record(2)}\n`],
      ['a UTF-8 BOM', Buffer.concat([BOM, Buffer.from(lines(CONFIG, record(1), record(2)))])],
      ['a BOM and CRLF', Buffer.concat([BOM, Buffer.from(`${CONFIG}\r\n${record(1)}\r\n${record(2)}\r\n`)])],
      ['no final newline', `${CONFIG}\n${record(1)}\n${record(2)}`],
      ['no final newline after CRLF lines', `${CONFIG}\r\n${record(1)}\r\n${record(2)}`],
      ['a final CR without LF', `${CONFIG}\n${record(1)}\n${record(2)}\r`],
      ['blank lines before line 1', `\n\n${CONFIG}\n${record(1)}\n${record(2)}\n`],
      ['whitespace-only lines before line 1', ` \t \r\n  \n${CONFIG}\n${record(1)}\n${record(2)}\n`],
      ['a BOM and then blank lines before line 1', Buffer.concat([BOM, Buffer.from(`\r\n\n${CONFIG}\n${record(1)}\n${record(2)}\n`)])],
      ['blank lines between records', `${CONFIG}\n\n${record(1)}\n\n\n${record(2)}\n`],
      ['whitespace-only lines between records', `${CONFIG}\n   \n${record(1)}\n\t\r\n${record(2)}\n`],
      ['blank lines at the end', `${CONFIG}\n${record(1)}\n${record(2)}\n\n\n  \n`],
      ['blank lines at the end without a final newline', `${CONFIG}\n${record(1)}\n${record(2)}\n\n   `]
    ]
    for (const [what, body] of bodies) {
      it(`accepts ${what}`, async () => {
        const { spool, validator } = await run(body)
        expect(spool).to.equal(expected)
        expect(validator.records).to.equal(2)
      })

      it(`accepts ${what}, split every byte`, async () => {
        const { spool, validator } = await runChunks(splitEvery(toBuffer(body), 1))
        expect(spool).to.equal(expected)
        expect(validator.records).to.equal(2)
      })
    }

    it('keeps a record line byte for byte, inner white space included', async () => {
      const line = '  {"payload" : { "b" : 2, "a" : [ 1.50 ] } ,"id":"x" , "extra": true }  '
      const { spool } = await run(lines(CONFIG, line))
      expect(spool).to.equal(CONFIG_WIRE + '\n' + line + '\n')
    })

    it('never writes a CR into the spool', async () => {
      const { spool } = await runChunks(splitEvery(Buffer.from(`${CONFIG}\r\n${record(1)}\r\n\r\n${record(2)}\r\n`), 2))
      expect(spool).not.to.include('\r')
    })
  })

  describe('multi-byte UTF-8', () => {
    const body = lines(
      CONFIG,
      record(1, 'café naïve résumé'),
      record(2, '€€€'),
      record(3, '😀 🎉 party 🎉'),
      record(4, '日本 東京 2026'),
      JSON.stringify({ id: 5, payload: { text: 'Ωμέγα', emoji: '👍🏽' } })
    )
    const expected = CONFIG_WIRE + '\n' + body.slice(body.indexOf('\n') + 1)

    for (const n of [1, 2, 3, 5]) {
      it(`keeps characters split across chunks every ${n} bytes`, async () => {
        const { spool, validator } = await runChunks(splitEvery(Buffer.from(body), n))
        expect(spool).to.equal(expected)
        expect(validator.records).to.equal(5)
      })
    }

    it('keeps a character whose bytes arrive in three chunks at a line end', async () => {
      const euro = Buffer.from('€') // e2 82 ac
      const chunks = [`${CONFIG}\n{"id":1,"payload":"`, euro.subarray(0, 1), euro.subarray(1, 2), Buffer.concat([euro.subarray(2), Buffer.from('"}\n')])]
      const { spool } = await runChunks(chunks)
      expect(spool).to.equal(CONFIG_WIRE + '\n{"id":1,"payload":"€"}\n')
    })
  })

  describe('invalid UTF-8', () => {
    const badBytes: Array<[string, number[]]> = [
      ['a lone continuation byte', [0x80]],
      ['a 0xff byte', [0xff]],
      ['an overlong "/"', [0xc0, 0xaf]],
      ['a UTF-16 surrogate', [0xed, 0xa0, 0x80]],
      ['a truncated three-byte sequence', [0xe2, 0x82]],
      ['a code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]]
    ]
    for (const [what, bytes] of badBytes) {
      const line = Buffer.concat([Buffer.from('{"id":2,"payload":"'), Buffer.from(bytes), Buffer.from('"}')])
      const body = Buffer.concat([Buffer.from(lines(CONFIG, '', record(1))), line, Buffer.from('\n' + lines(record(3)))])

      it(`refuses ${what} as invalid_record on its physical line`, async () => {
        const err = await failure(InvalidRecordError, 'invalid_record', [body])
        expect(err.status).to.equal(400)
        expect(err.details?.map((d) => d.line)).to.deep.equal([4])
      })

      it(`refuses ${what} split across chunks`, async () => {
        const err = await failure(InvalidRecordError, 'invalid_record', splitEvery(body, 1))
        expect(err.details?.map((d) => d.line)).to.deep.equal([4])
      })
    }

    it('never replaces bad bytes silently', async () => {
      const body = Buffer.concat([Buffer.from(`${CONFIG}\n{"id":1,"payload":"`), Buffer.from([0xff]), Buffer.from('"}\n')])
      await failure(InvalidRecordError, 'invalid_record', [body])
    })

    it('refuses invalid UTF-8 in the config line as invalid_config', async () => {
      const body = Buffer.concat([Buffer.from('\n{"primarykey":"k'), Buffer.from([0xfe]), Buffer.from('","protocol":"http","host":"h","port":1,"path":"/"}\n' + record(1) + '\n')])
      const err = await failure(InvalidConfigError, 'invalid_config', [body])
      expect(err.details?.map((d) => d.line)).to.deep.equal([2])
    })
  })

  describe('invalid records', () => {
    const bad: Array<[string, string]> = [
      ['a line that is not JSON', '{"id":1,"payload":'],
      ['a JSON array', '[1,2]'],
      ['a JSON string', '"text"'],
      ['a float id', '{"id":1.5,"payload":"x"}'],
      ['a missing id', '{"payload":"x"}'],
      ['a null payload', '{"id":1,"payload":null}'],
      ['a number payload', '{"id":1,"payload":7}'],
      ['a second config line', CONFIG]
    ]
    for (const [what, line] of bad) {
      it(`refuses ${what} as invalid_record`, async () => {
        const err = await failure(InvalidRecordError, 'invalid_record', [lines(CONFIG, record(1), line, record(3))])
        expect(err.details).to.have.lengthOf(1)
        expect(err.details?.[0]?.line).to.equal(3)
        expect(err.details?.[0]?.reason).to.be.a('string').and.not.equal('')
      })
    }

    it('numbers lines physically, counting blank lines and the lines before line 1', async () => {
      const body = `\n \r\n${CONFIG}\r\n\r\n${record(1)}\n\n{bad}\n${record(2)}\n   \nnot json\n`
      const err = await failure(InvalidRecordError, 'invalid_record', [body])
      expect(err.details?.map((d) => d.line)).to.deep.equal([7, 10])
    })

    it('counts the BOM line as line 1', async () => {
      const body = Buffer.concat([BOM, Buffer.from(`${CONFIG}\n${record(1)}\n[]\n`)])
      const err = await failure(InvalidRecordError, 'invalid_record', [body])
      expect(err.details?.map((d) => d.line)).to.deep.equal([3])
    })

    it('counts a last line without a newline', async () => {
      const err = await failure(InvalidRecordError, 'invalid_record', [`${CONFIG}\n${record(1)}\n{"id":2}`])
      expect(err.details?.map((d) => d.line)).to.deep.equal([3])
    })

    it('lists every invalid line up to the cap, in order', async () => {
      const body = lines(CONFIG, ...Array.from({ length: 10 }, (_, i) => i % 2 === 0 ? 'x' : record(i)))
      const err = await failure(InvalidRecordError, 'invalid_record', splitEvery(Buffer.from(body), 5))
      expect(err.details?.map((d) => d.line)).to.deep.equal([2, 4, 6, 8, 10])
    })

    it(`caps details at ${MAX_DETAILS}`, async () => {
      expect(MAX_DETAILS).to.equal(20)
      const body = lines(CONFIG, ...Array.from({ length: 25 }, () => 'x'), record(1))
      const err = await failure(InvalidRecordError, 'invalid_record', [body])
      expect(err.details).to.have.lengthOf(20)
      expect(err.details?.map((d) => d.line)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i + 2))
    })

    it('lists exactly 20 when there are exactly 20', async () => {
      const err = await failure(InvalidRecordError, 'invalid_record', [lines(CONFIG, ...Array.from({ length: 20 }, () => '[]'))])
      expect(err.details).to.have.lengthOf(20)
    })

    it('stops reading once the list is full', async () => {
      // The 21st bad line is over-long: had the validator gone on, it would fail with line_too_large.
      const body = lines(CONFIG, ...Array.from({ length: 20 }, () => 'x'), 'y'.repeat(MAX_LINE_BYTES * 4))
      await failure(InvalidRecordError, 'invalid_record', splitEvery(Buffer.from(body), 16))
    })

    it('writes nothing after the first invalid line', async () => {
      const later = record('written-after-the-bad-line')
      const chunks = [CONFIG + '\n', record(1) + '\n', '[]\n', later + '\n', record(2) + '\n']
      const validator = makeValidator({})
      const written: Buffer[] = []
      const sink = new Writable({
        write (chunk: Buffer, _encoding, callback) {
          written.push(chunk)
          callback()
        }
      })
      await expect(pipeline(Readable.from(chunks.map(toBuffer)), validator, sink)).to.be.rejectedWith(InvalidRecordError)
      expect(Buffer.concat(written).toString()).not.to.include('written-after-the-bad-line')
    })
  })

  describe('maxLineBytes', () => {
    it('accepts a record of exactly maxLineBytes', async () => {
      const line = recordOfLength(MAX_LINE_BYTES)
      const { spool } = await run(lines(CONFIG, line))
      expect(spool).to.equal(CONFIG_WIRE + '\n' + line + '\n')
    })

    for (const n of [1, 3, 100, MAX_LINE_BYTES, MAX_LINE_BYTES + 1]) {
      it(`accepts a record of exactly maxLineBytes with CRLF, split every ${n} bytes`, async () => {
        const line = recordOfLength(MAX_LINE_BYTES)
        const { validator } = await runChunks(splitEvery(Buffer.from(`${CONFIG}\r\n${line}\r\n${record(2)}\r\n`), n))
        expect(validator.records).to.equal(2)
      })
    }

    it('accepts a last line of exactly maxLineBytes without a newline', async () => {
      const { validator } = await runChunks(splitEvery(Buffer.from(`${CONFIG}\n${recordOfLength(MAX_LINE_BYTES)}`), 10))
      expect(validator.records).to.equal(1)
    })

    it('counts a multi-byte character by its bytes', async () => {
      const empty = record(1, '')
      const line = record(1, '€'.repeat(Math.floor((MAX_LINE_BYTES - empty.length) / 3) + 1))
      expect(Buffer.byteLength(line)).to.be.above(MAX_LINE_BYTES)
      expect(line.length).to.be.at.most(MAX_LINE_BYTES)
      const err = await failure(LineTooLargeError, 'line_too_large', [lines(CONFIG, line)])
      expect(err.details?.map((d) => d.line)).to.deep.equal([2])
    })

    const over: Array<[string, (line: string) => Array<Buffer | string>]> = [
      ['in one chunk', (line) => [lines(CONFIG, '', record(1), line, record(2))]],
      ['split over many chunks', (line) => splitEvery(Buffer.from(lines(CONFIG, '', record(1), line, record(2))), 7)],
      ['as the last line without a newline', (line) => [`${CONFIG}\n\n${record(1)}\n${line}`]],
      ['split over many chunks without a newline', (line) => splitEvery(Buffer.from(`${CONFIG}\n\n${record(1)}\n${line}`), 9)]
    ]
    for (const [what, chunksFor] of over) {
      it(`refuses a line of maxLineBytes + 1 ${what} as line_too_large with its line number`, async () => {
        const err = await failure(LineTooLargeError, 'line_too_large', chunksFor(recordOfLength(MAX_LINE_BYTES + 1)))
        expect(err.status).to.equal(413)
        expect(err.details?.map((d) => d.line)).to.deep.equal([4])
      })
    }

    it('refuses a line far over the limit as soon as the limit is passed', async () => {
      const huge = 'z'.repeat(MAX_LINE_BYTES * 1000)
      const err = await failure(LineTooLargeError, 'line_too_large', [CONFIG + '\n', ...splitEvery(Buffer.from(huge), 64)])
      expect(err.details?.map((d) => d.line)).to.deep.equal([2])
    })

    it('refuses an over-long whitespace-only line', async () => {
      const err = await failure(LineTooLargeError, 'line_too_large', [lines(CONFIG, ' '.repeat(MAX_LINE_BYTES + 1), record(1))])
      expect(err.details?.map((d) => d.line)).to.deep.equal([2])
    })

    it('refuses an over-long config line as line_too_large on line 1', async () => {
      const config = CONFIG.replace('"path":"/"', `"path":"/${'a'.repeat(MAX_LINE_BYTES)}"`)
      const err = await failure(LineTooLargeError, 'line_too_large', [lines(config, record(1))])
      expect(err.details?.map((d) => d.line)).to.deep.equal([1])
    })

    // DESIGN §1 accepts a BOM at the start; the validator strips it before measuring line 1
    // when the line arrives whole, so the verdict must not change with the chunking.
    for (const n of [1, 3, 64]) {
      it(`does not count a BOM toward line 1's length, split every ${n} bytes`, async () => {
        const config = CONFIG.replace('"path":"/"', `"path":"/${'a'.repeat(MAX_LINE_BYTES - CONFIG.length)}"`)
        expect(Buffer.byteLength(config)).to.equal(MAX_LINE_BYTES)
        const body = Buffer.concat([BOM, Buffer.from(`${config}\r\n${record(1)}\r\n`)])
        expect((await run(body)).validator.records).to.equal(1)
        expect((await runChunks(splitEvery(body, n))).validator.records).to.equal(1)
      })
    }
  })

  describe('maxUploadBytes', () => {
    const body = lines(CONFIG, record(1), record(2))
    const size = Buffer.byteLength(body)

    it('accepts a body of exactly maxUploadBytes', async () => {
      expect((await run(body, { maxUploadBytes: size })).validator.records).to.equal(2)
    })

    it('refuses a body one byte over as payload_too_large', async () => {
      const err = await failure(PayloadTooLargeError, 'payload_too_large', [body], { maxUploadBytes: size - 1 })
      expect(err.status).to.equal(413)
    })

    it('refuses it in small chunks too', async () => {
      await failure(PayloadTooLargeError, 'payload_too_large', splitEvery(Buffer.from(body), 4), { maxUploadBytes: size - 1 })
    })

    it('counts blank lines, CRs and the BOM', async () => {
      const padded = Buffer.concat([BOM, Buffer.from(`\r\n\r\n${CONFIG}\r\n${record(1)}\r\n${record(2)}\r\n`)])
      await failure(PayloadTooLargeError, 'payload_too_large', [padded], { maxUploadBytes: size + 6 })
      expect((await run(padded, { maxUploadBytes: padded.length })).validator.records).to.equal(2)
    })
  })

  describe('empty jobs', () => {
    const empties: Array<[string, Array<Buffer | string>]> = [
      ['an empty body', []],
      ['a body of blank lines', ['\n\n \r\n\t\n']],
      ['a body of only a BOM', [BOM]],
      ['a config line and no records', [CONFIG + '\n']],
      ['a config line without a newline', [CONFIG]],
      ['a config line and blank lines', [`\n${CONFIG}\r\n\r\n   \n`]],
      ['a config line split every byte', splitEvery(Buffer.from(CONFIG + '\n'), 1)]
    ]
    for (const [what, chunks] of empties) {
      it(`refuses ${what} as empty_job`, async () => {
        const err = await failure(EmptyJobError, 'empty_job', chunks)
        expect(err.status).to.equal(400)
      })
    }
  })

  describe('bad config lines', () => {
    const bad: Array<[string, string]> = [
      ['a line that is not JSON', '{"primarykey":'],
      ['a JSON array', '[]'],
      ['a record instead of a config', record(1)],
      ['a missing host', '{"primarykey":"k","protocol":"http","port":80,"path":"/"}'],
      ['a typo in a field name', '{"primarykey":"k","protocol":"http","host":"h","port":80,"path":"/","concurency":4}'],
      ['an ftp protocol', '{"primarykey":"k","protocol":"ftp","host":"h","port":80,"path":"/"}']
    ]
    for (const [what, config] of bad) {
      it(`refuses ${what} as invalid_config on line 1`, async () => {
        const err = await failure(InvalidConfigError, 'invalid_config', [lines(config, record(1))])
        expect(err.status).to.equal(400)
        expect(err.details?.length).to.be.at.least(1)
        for (const detail of err.details ?? []) expect(detail.line).to.equal(1)
      })
    }

    it('gives the physical line of a config after blank lines', async () => {
      const err = await failure(InvalidConfigError, 'invalid_config', [`\n\r\n[]\n${record(1)}\n`])
      expect(err.details?.map((d) => d.line)).to.deep.equal([3])
    })

    it('lists one detail per problem of the config line', async () => {
      const config = '{"primarykey":"k","protocol":"ftp","host":"h:1","port":0,"path":"x","concurency":1}'
      const err = await failure(InvalidConfigError, 'invalid_config', [lines(config, record(1))])
      expect(err.details).to.have.lengthOf(5)
      expect(err.details?.some((d) => d.reason.includes('concurency'))).to.equal(true)
    })

    it('fails at once, before reading the records', async () => {
      await failure(InvalidConfigError, 'invalid_config', ['[]\n', 'y'.repeat(MAX_LINE_BYTES * 10)])
    })
  })

  describe('onSpec', () => {
    it('is called once, with the parsed spec, before the upload ends', async () => {
      const seen: JobSpec[] = []
      const { validator } = await runChunks(splitEvery(Buffer.from(SEED), 10), {
        onSpec: (spec) => { seen.push(spec) }
      })
      expect(seen).to.have.lengthOf(1)
      expect(seen[0]).to.equal(validator.spec)
      expect(seen[0]?.host).to.equal('api.example.com')
    })

    it('is awaited: a slow check delays the end, not the records', async () => {
      let isChecked = false
      const { validator } = await run(SEED, {
        onSpec: async () => {
          await new Promise((resolve) => setTimeout(resolve, 20))
          isChecked = true
        }
      })
      expect(isChecked).to.equal(true)
      expect(validator.records).to.equal(4)
    })

    it('fails the stream with its rejection', async () => {
      const err = await failure(TargetForbiddenError, 'target_forbidden', splitEvery(Buffer.from(SEED), 50), {
        onSpec: async () => { throw new TargetForbiddenError('no') }
      })
      expect(err.status).to.equal(403)
    })

    it('fails the stream with a synchronous throw', async () => {
      await failure(TargetForbiddenError, 'target_forbidden', [SEED], {
        onSpec: () => { throw new TargetForbiddenError('no') }
      })
    })

    it('fails the stream with a late rejection, after every record was read', async () => {
      await failure(TargetForbiddenError, 'target_forbidden', [SEED], {
        onSpec: async () => {
          await new Promise((resolve) => setTimeout(resolve, 20))
          throw new TargetForbiddenError('no')
        }
      })
    })

    it('is not called for a bad config line', async () => {
      let calls = 0
      await failure(InvalidConfigError, 'invalid_config', [lines('[]', record(1))], { onSpec: () => { calls++ } })
      expect(calls).to.equal(0)
    })
  })
})

// The run path: whole lines after line 1 that arrive in one chunk and are valid UTF-8 are
// checked as one string and pushed as byte runs. These cases put everything in a single
// chunk after the config line, so only that path sees them.
describe('createLineValidator() on whole chunks', () => {
  const body = (...list: string[]): string[] => [CONFIG + '\n', lines(...list)]

  it('keeps records verbatim and drops CR and blank lines between them', async () => {
    const { spool, validator } = await runChunks(body(record(1), '', record(2) + '\r', '   ', '\t', record(3), record(4) + '\r'))
    expect(spool).to.equal(lines(CONFIG_WIRE, record(1), record(2), record(3), record(4)))
    expect(validator.records).to.equal(4)
  })

  it('numbers invalid lines by their physical line, blank lines included', async () => {
    const err = await failure(InvalidRecordError, 'invalid_record', body(record(1), '', 'nope', record(2), '{"id":1.5,"payload":"p"}', '  ', '{"id":2}'))
    expect(err.details).to.deep.equal([
      { line: 4, reason: 'not valid JSON' },
      { line: 6, reason: '"id" must be a string or an integer' },
      { line: 8, reason: '"payload" must be a string, an object or an array' }
    ])
  })

  it('refuses a line over maxLineBytes inside the chunk, naming it', async () => {
    const err = await failure(LineTooLargeError, 'line_too_large', body(record(1), recordOfLength(MAX_LINE_BYTES + 1), record(2)))
    expect(err.details?.[0]?.line).to.equal(3)
  })

  it('accepts a line of exactly maxLineBytes followed by CR', async () => {
    const { validator } = await runChunks(body(record(1), recordOfLength(MAX_LINE_BYTES) + '\r'))
    expect(validator.records).to.equal(2)
  })

  it('gives the same spool and line numbers for a big chunk of mixed ASCII and non-ASCII lines', async () => {
    const list = Array.from({ length: 3000 }, (_, i) => i % 450 === 7 || (i > 2000 && i < 2100) ? record(i, `é${i}`) : record(i, `p${i}`))
    const body = lines(CONFIG, ...list, '', '[]', record('😀'), '{"id":"é"}')
    const whole = await failure(InvalidRecordError, 'invalid_record', [body], { maxLineBytes: 1 << 20 })
    const split = await failure(InvalidRecordError, 'invalid_record', splitEvery(Buffer.from(body), 7), { maxLineBytes: 1 << 20 })
    expect(whole.details?.map((d) => d.line)).to.deep.equal([3003, 3005])
    expect(split.details).to.deep.equal(whole.details)
    const good = lines(CONFIG, ...list)
    const { spool, validator } = await run(good, { maxLineBytes: 1 << 20 })
    expect(spool).to.equal(CONFIG_WIRE + '\n' + good.slice(good.indexOf('\n') + 1))
    expect(validator.records).to.equal(3000)
  })

  it('numbers every invalid line of a big chunk whose runs hold bytes that are not UTF-8', async () => {
    // A line that is not UTF-8 sends the next 16 KiB through the per-line path, then the run
    // check looks again (it used to rescan the rest of the chunk after every line).
    const lineList = Array.from({ length: 3000 }, (_, i) => Buffer.from(record(i, `é${i}`) + '\n'))
    const bad = [5, 6, 700, 2999]
    for (const i of bad) lineList[i] = Buffer.concat([Buffer.from(`{"id":${i},"payload":"`), Buffer.from([0xff]), Buffer.from('"}\n')])
    const chunks = [Buffer.from(CONFIG + '\n'), Buffer.concat(lineList)]
    const err = await failure(InvalidRecordError, 'invalid_record', chunks, { maxLineBytes: 1 << 20 })
    expect(err.details).to.deep.equal(bad.map((i) => ({ line: i + 2, reason: 'not valid UTF-8' })))
  })

  it('takes a chunk of non-ASCII records as the same records, byte for byte', async () => {
    const list = [record(1, 'é'), record('ü-1', '😀 and €'), '{"id":2,"payload":{"naïve":"日本語","n":1}}', '{ "id" : 3 , "payload" : ["ß"] }', record(4, '\u2028')]
    const { spool, validator } = await runChunks(body(...list))
    expect(spool).to.equal(lines(CONFIG_WIRE, ...list))
    expect(validator.records).to.equal(5)
  })

  it('gives a non-ASCII line the exact check on its UTF-8 text, not its bytes as latin1', async () => {
    // U+00A0 is blank to trim() as text; as latin1 its two bytes would read "Â" and U+00A0, which is not.
    const err = await failure(InvalidRecordError, 'invalid_record', body(record(1), '\u00a0', 'é', '{"id":"é","payload":1}', record(3)))
    expect(err.details).to.deep.equal([
      { line: 4, reason: 'not valid JSON' },
      { line: 5, reason: '"payload" must be a string, an object or an array' }
    ])
    const { spool, validator } = await runChunks(body(record(1), '\u00a0', record(2, 'ü')))
    expect(spool).to.equal(lines(CONFIG_WIRE, record(1), record(2, 'ü')))
    expect(validator.records).to.equal(2)
  })

  it('measures a non-ASCII line and id in bytes', async () => {
    // Two-byte characters, with one ASCII byte to make an odd count: counted in characters,
    // each of these would be about half as long.
    const textOf = (bytes: number): string => 'é'.repeat(Math.floor(bytes / 2)) + 'x'.repeat(bytes % 2)
    const recordOfBytes = (bytes: number): string => record(1, textOf(bytes - record(1, '').length))
    expect(Buffer.byteLength(recordOfBytes(MAX_LINE_BYTES))).to.equal(MAX_LINE_BYTES)
    const { validator } = await runChunks(body(record(1), recordOfBytes(MAX_LINE_BYTES)))
    expect(validator.records).to.equal(2)
    const tooLarge = await failure(LineTooLargeError, 'line_too_large', body(record(1), recordOfBytes(MAX_LINE_BYTES + 1)))
    expect(tooLarge.details?.[0]?.line).to.equal(3)
    const wide = { maxLineBytes: 1024 }
    const { validator: ids } = await runChunks(body(record(textOf(256))), wide)
    expect(ids.records).to.equal(1)
    const long = await failure(InvalidRecordError, 'invalid_record', body(record(1), record(textOf(257))), wide)
    expect(long.details).to.deep.equal([{ line: 3, reason: '"id" must be at most 256 bytes of UTF-8' }])
  })
})

// Issue 18: what the upload must refuse so that every accepted record can be sent (items 1
// and 7), and runs of blank lines skipped at memory speed with exact line numbers (item 9).
describe('createLineValidator() and issue 18', () => {
  const deep = (depth: number): string => `{"id":1,"payload":${'['.repeat(depth)}${']'.repeat(depth)}}`
  const bad: Array<[string, string, string]> = [
    ['a lone surrogate in a string id', '{"id":"\\ud800","payload":"b"}', 'well-formed Unicode'],
    ['a lone surrogate in a string payload', '{"id":2,"payload":"x\\udc00"}', 'well-formed Unicode'],
    ['a lone surrogate in an object payload key', '{"id":2,"payload":{"\\uDBFF":1}}', 'well-formed Unicode'],
    ['a lone surrogate deep in an array payload', '{"id":2,"payload":[[["\\ud800"]]]}', 'well-formed Unicode'],
    ['a payload nested 65 levels', deep(65), '64 levels'],
    ['a payload nested 100,000 levels', deep(100_000), '64 levels'],
    ['an id of 257 bytes', record('x'.repeat(257)), '256 bytes'],
    ['an id of 86 euro signs (258 bytes)', record('€'.repeat(86)), '256 bytes']
  ]
  for (const [what, line, reason] of bad) {
    for (const [how, chunksFor] of [
      ['in one chunk', (body: string) => [body]],
      ['split every 7 bytes', (body: string) => splitEvery(Buffer.from(body), 7)]
    ] as const) {
      it(`refuses ${what} as invalid_record on its physical line, ${how}`, async () => {
        const err = await failure(InvalidRecordError, 'invalid_record', chunksFor(lines(CONFIG, record(1), '', line, record(3))), { maxLineBytes: 1 << 20 })
        expect(err.details).to.have.lengthOf(1)
        expect(err.details?.[0]?.line).to.equal(4)
        expect(err.details?.[0]?.reason).to.contain(reason)
      })
    }
  }

  it('accepts the limits themselves: 64 levels, a 256-byte id, a surrogate pair', async () => {
    const body = lines(CONFIG, deep(64), record('é'.repeat(128)), '{"id":"\\ud83d\\ude00","payload":"\\uD83D\\uDE00"}')
    const { validator, spool } = await run(body, { maxLineBytes: 1024 })
    expect(validator.records).to.equal(3)
    expect(spool).to.equal(CONFIG_WIRE + '\n' + body.slice(body.indexOf('\n') + 1))
  })

  it('refuses a lone surrogate in the config line as invalid_config', async () => {
    const config = CONFIG.replace('"path":"/"', '"path":"/","callback_url":"http://127.0.0.1/\\ud800"')
    const err = await failure(InvalidConfigError, 'invalid_config', [lines('', config, record(1))])
    expect(err.details).to.deep.equal([{ line: 2, reason: 'strings must be well-formed Unicode (no lone surrogate escape such as \\ud800)' }])
  })

  const blankRuns: Array<[string, string]> = [['LF', '\n'], ['CRLF', '\r\n'], ['space-space-LF', '  \n'], ['mixed', '\n \t\r\n\n']]
  for (const [name, pattern] of blankRuns) {
    const run = pattern.repeat(20_000)
    const runLines = 20_000 * (pattern.split('\n').length - 1)
    for (const chunkBytes of [1, 13, 4096, 1 << 20]) {
      it(`counts every line of ${runLines} ${name} blank lines before and after line 1, in ${chunkBytes}-byte chunks`, async () => {
        const body = run + CONFIG + '\n' + run + record(1) + '\n' + run + '[]\n' + run
        const chunks = chunkBytes === 1 ? splitEvery(Buffer.from(body), 997) : splitEvery(Buffer.from(body), chunkBytes)
        const err = await failure(InvalidRecordError, 'invalid_record', chunks)
        expect(err.details?.map((d) => d.line)).to.deep.equal([3 * runLines + 3])
      })
    }
  }

  it('still refuses an over-long whitespace-only line inside a long blank run, naming it', async () => {
    const body = lines(CONFIG, record(1)) + '\n'.repeat(10_000) + ' '.repeat(MAX_LINE_BYTES + 1) + '\n' + '\n'.repeat(10_000) + record(2) + '\n'
    for (const chunks of [[body], splitEvery(Buffer.from(body), 4096)]) {
      const err = await failure(LineTooLargeError, 'line_too_large', chunks)
      expect(err.details?.map((d) => d.line)).to.deep.equal([10_003])
    }
  })

  it('drops blank runs from the spool and keeps the records between them', async () => {
    const body = '\n'.repeat(5000) + CONFIG + '\n' + '  \n'.repeat(5000) + record(1) + '\n' + '\r\n'.repeat(5000) + record(2) + '\n' + '\n'.repeat(5000)
    const { spool, validator } = await runChunks(splitEvery(Buffer.from(body), 4096))
    expect(spool).to.equal(lines(CONFIG_WIRE, record(1), record(2)))
    expect(validator.records).to.equal(2)
  })
})
