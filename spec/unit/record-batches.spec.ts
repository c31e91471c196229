// createRecordBatcher(): arrays of spool lines (from the line batcher) → RecordBatches; line 1
// is the spec and is dropped; records are numbered from 0 across batches; on resume, records
// whose bit is set in the done bitmap are skipped, a window at a time. RecordBatch.recordAt
// parses a record when it is asked for.
import { expect } from 'chai'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createRecordBatcher, RecordBatch, type ParsedLine, type RecordBatcher } from '../../lib/pipeline/record-batches.js'
import type { BitsReader as DoneBitsReader } from '../../lib/spool/bit-window.js'

const SPEC_LINE = '{"primarykey":"k","protocol":"http","host":"127.0.0.1","port":8080,"path":"/"}'

interface Parsed {
  /** Every record the batches hold, parsed, skipped ones left out. */
  items: ParsedLine[]
  batches: RecordBatch[]
  parser: RecordBatcher
}

/** Feeds `lines` to a batcher in arrays of `linesPerChunk`, as the line batcher would. */
async function parse (lines: readonly string[], readDoneBits?: DoneBitsReader, linesPerChunk = 3): Promise<Parsed> {
  const parser = createRecordBatcher(readDoneBits === undefined ? {} : { readDoneBits })
  const chunks: string[][] = []
  for (let i = 0; i < lines.length; i += linesPerChunk) chunks.push(lines.slice(i, i + linesPerChunk))
  const batches: RecordBatch[] = []
  const sink = new Writable({
    objectMode: true,
    write (batch: RecordBatch, _encoding, callback) {
      batches.push(batch)
      callback()
    }
  })
  await pipeline(Readable.from(chunks), parser, sink)
  const items: ParsedLine[] = []
  for (const batch of batches) {
    for (let position = 0; position < batch.length; position++) {
      const item = batch.recordAt(position)
      if (item !== null) items.push(item)
    }
  }
  return { items, batches, parser }
}

const recordLines = (count: number): string[] => Array.from({ length: count }, (_, i) => JSON.stringify({ id: i, payload: `p${i}` }))

/** A Redis-style bitmap (bit 0 is the most significant bit of byte 0) with these indexes set. */
function bitmap (done: readonly number[]): Buffer {
  const bytes = Buffer.alloc(Math.ceil((Math.max(-1, ...done) + 1) / 8))
  for (const index of done) bytes[index >> 3] = (bytes[index >> 3] ?? 0) | (0x80 >> (index & 7))
  return bytes
}

/** A DoneBitsReader over a bitmap, as GETRANGE answers: short (or empty) past the end. */
function readerOf (bits: Buffer, calls: Array<[number, number]> = []): DoneBitsReader {
  return async (firstIndex, byteCount) => {
    calls.push([firstIndex, byteCount])
    const start = firstIndex >> 3
    return bits.subarray(start, start + byteCount)
  }
}

describe('createRecordBatcher()', () => {
  it('skips line 1 and numbers records from 0', async () => {
    const { items, parser } = await parse([SPEC_LINE, '{"id":"a","payload":"x"}', '{"id":7,"payload":{"k":[1]}}'])
    expect(items).to.deep.equal([
      { index: 0, id: 'a', idJson: '"a"', payload: 'x' },
      { index: 1, id: '7', idJson: '7', payload: '{"k":[1]}' }
    ])
    expect(parser.skipped).to.equal(0)
  })

  it('gives nothing for a spool holding only the spec line', async () => {
    expect((await parse([SPEC_LINE])).items).to.deep.equal([])
  })

  it('gives nothing for an empty spool', async () => {
    expect((await parse([])).items).to.deep.equal([])
  })

  it('numbers records across batches of any size, the spec line in the first', async () => {
    for (const linesPerChunk of [1, 2, 3, 7, 100]) {
      const { items, batches } = await parse([SPEC_LINE, ...recordLines(10)], undefined, linesPerChunk)
      expect(items.map((item) => item.index), `chunks of ${linesPerChunk}`).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      expect(items.map((item) => 'payload' in item ? item.payload : null)).to.deep.equal(recordLines(10).map((_, i) => `p${i}`))
      expect(batches.every((batch) => batch.length > 0), 'no empty batch').to.equal(true)
    }
  })

  const invalid: Array<[string, string]> = [
    ['not_json', '{"id":1'],
    ['not_an_object', '[1]'],
    ['invalid_id', '{"id":1.5,"payload":"x"}'],
    ['invalid_payload', '{"id":1,"payload":null}']
  ]
  for (const [reason, line] of invalid) {
    it(`turns a bad line into an InvalidLine with reason ${reason}, and goes on`, async () => {
      const { items } = await parse([SPEC_LINE, line, '{"id":2,"payload":"ok"}'])
      expect(items).to.deep.equal([
        { index: 0, invalid: reason },
        { index: 1, id: '2', idJson: '2', payload: 'ok' }
      ])
    })
  }

  describe('when resuming with a done bitmap', () => {
    const cases: Array<[string, number, number[]]> = [
      ['nothing done', 20, []],
      ['the first record done', 20, [0]],
      ['every record done', 20, Array.from({ length: 20 }, (_, i) => i)],
      ['scattered records done, across byte boundaries', 40, [1, 7, 8, 9, 15, 16, 31, 39]],
      ['a bitmap shorter than the job', 40, [2, 3]]
    ]
    for (const [what, count, done] of cases) {
      it(`skips exactly the done records with ${what}`, async () => {
        const { items, parser } = await parse([SPEC_LINE, ...recordLines(count)], readerOf(bitmap(done)))
        const expected = Array.from({ length: count }, (_, i) => i).filter((i) => !done.includes(i))
        expect(items.map((item) => item.index)).to.deep.equal(expected)
        expect(parser.skipped).to.equal(done.length)
      })
    }

    it('passes no batch on when every record in it is done', async () => {
      const { items, batches } = await parse([SPEC_LINE, ...recordLines(6)], readerOf(bitmap([0, 1, 2, 3])), 3)
      expect(items.map((item) => item.index)).to.deep.equal([4, 5])
      expect(batches.map((batch) => batch.firstIndex)).to.deep.equal([2, 5])
    })

    it('reads the bitmap a window at a time, not once per record', async () => {
      const count = 140_000
      const done = [0, 65_535, 65_536, 131_071, 139_999]
      const calls: Array<[number, number]> = []
      const { items, parser } = await parse([SPEC_LINE, ...recordLines(count)], readerOf(bitmap(done), calls), 2000)
      expect(parser.skipped).to.equal(done.length)
      expect(items).to.have.lengthOf(count - done.length)
      expect(calls).to.deep.equal([[0, 8192], [65_536, 8192], [131_072, 8192]])
    })

    it('fails the stream when the bitmap cannot be read', async () => {
      const reader: DoneBitsReader = async () => { throw Object.assign(new Error('down'), { code: 'store_unavailable' }) }
      const err: unknown = await expect(parse([SPEC_LINE, ...recordLines(3)], reader)).to.be.rejected
      expect((err as { code?: unknown }).code).to.equal('store_unavailable')
    })
  })
})

describe('RecordBatch', () => {
  it('parses the record at a position when asked, numbered from firstIndex', () => {
    const batch = new RecordBatch(41, ['{"id":"a","payload":"x"}', null, '{"id":1'])
    expect(batch.length).to.equal(3)
    expect(batch.recordAt(0)).to.deep.equal({ index: 41, id: 'a', idJson: '"a"', payload: 'x' })
    expect(batch.recordAt(1), 'a skipped record').to.equal(null)
    expect(batch.recordAt(2)).to.deep.equal({ index: 43, invalid: 'not_json' })
  })
})
