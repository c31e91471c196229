// createJsonIntake(): a JSON upload's stages (UTF-8 check → stream-json parser → assembler)
// write the same spool bytes as the NDJSON validator, in either member order, whatever
// the chunk boundaries (mid-token, mid-character). A large chunk is parsed a slice at a
// time (the text in hand stays small, for the peak RSS) with the answer it had parsed whole.
// Refs: issue 15.
import { expect } from 'chai'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { JobSpecLimits } from '../../lib/domain/job-spec.js'
import { InvalidRequestError, JobConflictError } from '../../lib/errors.js'
import { createJsonIntake } from '../../lib/upload/json-intake.js'
import { SLICE_BYTES } from '../../lib/upload/json-spool-parser.js'
import { createLineValidator } from '../../lib/upload/line-validator.js'

const SPEC_LIMITS: JobSpecLimits = { defaultConcurrency: 4, maxConcurrency: 256, defaultTimeoutMs: 30_000, defaultMaxAttempts: 3 }
const MAX_LINE_BYTES = 256
const CONFIG = { primarykey: 'k', protocol: 'http', host: '127.0.0.1', port: 8080, path: '/' }
const RECORDS = [
  { id: 1, payload: 'plain' },
  { id: 'é-2', payload: { nested: ['🚀', null, true, 1.5, -2e3], quote: '"\\\n' } },
  { id: 3, payload: [] }
]

interface Spooled { text: string, head: string | null, records: number }

async function spool (chunks: Buffer[], maxLineBytes = MAX_LINE_BYTES): Promise<Spooled> {
  let head: string | null = null
  const intake = createJsonIntake({
    maxLineBytes, maxUploadBytes: 1e6, specLimits: SPEC_LIMITS, onHead: (bytes) => { head = bytes.toString() }
  })
  const out: Buffer[] = []
  await pipeline([Readable.from(chunks, { objectMode: false }), ...intake.stages, new Writable({
    write (chunk: Buffer, _encoding, callback) { out.push(chunk); callback() }
  })])
  return { text: Buffer.concat(out).toString(), head, records: intake.records }
}

async function ndjsonSpool (text: string): Promise<string> {
  const out: Buffer[] = []
  await pipeline(Readable.from([Buffer.from(text)]), createLineValidator({ maxLineBytes: MAX_LINE_BYTES, maxUploadBytes: 1e6, specLimits: SPEC_LIMITS }),
    new Writable({ write (chunk: Buffer, _encoding, callback) { out.push(chunk); callback() } }))
  return Buffer.concat(out).toString()
}

/** The bytes cut every `size` bytes (so tokens and characters are split). */
function cut (text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text)
  const chunks: Buffer[] = []
  for (let at = 0; at < bytes.length; at += size) chunks.push(bytes.subarray(at, at + size))
  return chunks
}

describe('createJsonIntake()', function () {
  const ndjson = [CONFIG, ...RECORDS].map((value) => JSON.stringify(value)).join('\n') + '\n'

  for (const size of [1, 3, 7, 1000]) {
    it(`writes the NDJSON spool, config first, in ${size}-byte chunks`, async function () {
      const spooled = await spool(cut(JSON.stringify({ config: CONFIG, records: RECORDS }), size))
      expect(spooled.text).to.equal(await ndjsonSpool(ndjson))
      expect(spooled.head).to.equal(null)
      expect(spooled.records).to.equal(3)
    })

    it(`writes a placeholder line 1 and hands over its head, records first, in ${size}-byte chunks`, async function () {
      const spooled = await spool(cut(JSON.stringify({ records: RECORDS, config: CONFIG }), size))
      const expected = (await ndjsonSpool(ndjson)).split('\n')
      const lines = spooled.text.split('\n')
      expect(lines[0]).to.equal(' '.repeat(MAX_LINE_BYTES))
      expect(lines.slice(1)).to.deep.equal(expected.slice(1))
      expect(spooled.head).to.equal(expected[0])
      expect(spooled.records).to.equal(3)
    })
  }

  it('keeps a record\'s id and payload only, compact, last repeat winning', async function () {
    const text = '{"config":' + JSON.stringify(CONFIG) + ',"records":[ { "x" : [1,{"y":2}], "payload" : "a" , "id" : 7, "payload": { "b" : [ 1 , 2 ] } } ]}'
    const spooled = await spool([Buffer.from(text)])
    expect(spooled.text.split('\n')[1]).to.equal('{"id":7,"payload":{"b":[1,2]}}')
  })

  describe('a chunk of many slices', function () {
    // ~150 KB of records whose bytes are mostly multi-byte characters, sent as one chunk.
    const records = Array.from({ length: 1000 }, (_, i) => ({ id: i, payload: `${'🚀'.repeat(20)}${'é'.repeat(i % 7)}` }))
    const document = Buffer.from(JSON.stringify({ config: CONFIG, records }))

    it('writes the NDJSON spool, characters cut at slice edges', async function () {
      const edges = Array.from({ length: Math.floor(document.length / SLICE_BYTES) }, (_, i) => document[(i + 1) * SLICE_BYTES] as number)
      expect(edges.some((byte) => (byte & 0xc0) === 0x80), 'a slice edge falls inside a character').to.equal(true)
      const ndjson = [CONFIG, ...records].map((value) => JSON.stringify(value)).join('\n') + '\n'
      for (const chunks of [[document], cut(document.toString(), 3 * SLICE_BYTES + 5)]) {
        const spooled = await spool(chunks)
        expect(spooled.text).to.equal(await ndjsonSpool(ndjson))
        expect(spooled.records).to.equal(records.length)
      }
    })

    it('holds about one slice of text at a time, not the chunk', async function () {
      const intake = createJsonIntake({ maxLineBytes: MAX_LINE_BYTES, maxUploadBytes: 1e6, specLimits: SPEC_LIMITS })
      const parser = intake.stages[1] as unknown as { _buffer: string, push: (chunk: unknown) => boolean }
      const push = parser.push.bind(parser)
      let mostInHand = 0
      parser.push = (chunk) => {
        mostInHand = Math.max(mostInHand, parser._buffer.length)
        return push(chunk)
      }
      await pipeline([Readable.from([document], { objectMode: false }), ...intake.stages, new Writable({ write (_chunk, _encoding, callback) { callback() } })])
      expect(intake.records).to.equal(records.length)
      expect(mostInHand).to.be.above(0).and.at.most(SLICE_BYTES + 1024)
    })

    it('answers a parse error anywhere in the chunk before the config\'s check, as when parsed whole', async function () {
      const broken = Buffer.concat([document.subarray(0, document.length - 2), Buffer.from('x]}')])
      // The config's check fails (as a live job of its primarykey would make it).
      const failureOf = async (chunks: Buffer[]): Promise<unknown> => {
        const intake = createJsonIntake({
          maxLineBytes: MAX_LINE_BYTES,
          maxUploadBytes: 1e6,
          specLimits: SPEC_LIMITS,
          onSpec: () => { throw new JobConflictError('a job with primarykey "k" is still live', 'job-1') }
        })
        const sink = new Writable({ write (_chunk, _encoding, callback) { callback() } })
        return await pipeline([Readable.from(chunks, { objectMode: false }), ...intake.stages, sink]).then(() => null, (err: unknown) => intake.answerFor(err))
      }
      expect(await failureOf([broken])).to.be.instanceOf(InvalidRequestError)
      // In two chunks, the check ends the upload before the second is parsed.
      expect(await failureOf([broken.subarray(0, SLICE_BYTES), broken.subarray(SLICE_BYTES)])).to.be.instanceOf(JobConflictError)
    })
  })
})
