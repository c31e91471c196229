// The spool's line stages, split2 → LineBatcher (spool-reader.ts, DESIGN §6): spool bytes →
// arrays of lines. Edge cases in the spirit of split2's own tests: lines and characters cut
// anywhere by chunk boundaries, a missing final newline, an empty file, the line cap; and
// the batching: one array per turn of the event loop, at most MAX_LINES, with backpressure.
import { expect } from 'chai'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { LineBatcher } from '../../lib/spool/line-batcher.js'
import { splitSpoolLines } from '../../lib/spool/spool-reader.js'

/** Runs `chunks` through split2 and a batcher; resolves to the arrays it pushed. */
async function batch (chunks: readonly Buffer[], maxLineBytes = 1024, maxLines?: number): Promise<string[][]> {
  const arrays: string[][] = []
  const sink = new Writable({
    objectMode: true,
    write (lines: string[], _encoding, callback) {
      arrays.push(lines)
      callback()
    }
  })
  await pipeline(Readable.from(chunks, { objectMode: false }), splitSpoolLines(maxLineBytes), new LineBatcher(maxLines), sink)
  return arrays
}

/** `text` cut into chunks of `size` bytes (so multi-byte characters are cut too). */
function chunked (text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text, 'utf8')
  const chunks: Buffer[] = []
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
  return chunks
}

describe('split2 → LineBatcher', () => {
  it('gathers the lines of one turn into one array', async () => {
    expect(await batch([Buffer.from('a\nb\nc'), Buffer.from('d\ne\n')])).to.deep.equal([['a', 'b', 'cd', 'e']])
  })

  it('gives nothing for an empty file', async () => {
    expect(await batch([])).to.deep.equal([])
  })

  it('keeps a final line that has no newline', async () => {
    expect((await batch([Buffer.from('a\nb')])).flat()).to.deep.equal(['a', 'b'])
  })

  it('keeps lines and multi-byte characters cut at every byte', async () => {
    const lines = ['{"id":1,"payload":"zürich € 🙂"}', '', '{"id":2,"payload":"日本語"}', 'x']
    const text = lines.join('\n') + '\n'
    for (const size of [1, 2, 3, 5, 7, 64]) expect((await batch(chunked(text, size))).flat(), `chunks of ${size}`).to.deep.equal(lines)
  })

  it('caps an array at maxLines', async () => {
    const text = Array.from({ length: 10 }, (_, i) => `l${i}`).join('\n') + '\n'
    expect((await batch([Buffer.from(text)], 1024, 4)).map((lines) => lines.length)).to.deep.equal([4, 4, 2])
  })

  it('gives a new array for lines that arrive in a later turn', async () => {
    async function * slow (): AsyncGenerator<Buffer> {
      yield Buffer.from('a\nb\n')
      await sleep(20)
      yield Buffer.from('c\n')
    }
    const arrays: string[][] = []
    await pipeline(Readable.from(slow(), { objectMode: false }), splitSpoolLines(64), new LineBatcher(), new Writable({
      objectMode: true,
      write (lines: string[], _encoding, callback) { arrays.push(lines); callback() }
    }))
    expect(arrays).to.deep.equal([['a', 'b'], ['c']])
  })

  it('holds the source while the reader does not read (backpressure)', async () => {
    const batcher = new LineBatcher(2)
    const split = splitSpoolLines(64)
    split.pipe(batcher)
    const text = Array.from({ length: 1000 }, (_, i) => `l${i}`).join('\n') + '\n'
    split.write(Buffer.from(text))
    await sleep(20)
    // Two arrays of 2 lines buffered ahead, a few more in the writable buffers; not 1000.
    expect(batcher.readableLength).to.equal(2)
    expect(batcher.writableLength + split.readableLength).to.be.above(900)
    batcher.destroy()
    split.destroy()
  })

  it('fails the stream with line_too_long when a line outgrows maxLength', async () => {
    const err = await batch([Buffer.from('ok\n' + 'x'.repeat(100))], 64).then(() => null, (caught: unknown) => caught)
    expect((err as { code?: unknown }).code).to.equal('line_too_long')
  })

  it('takes a line of exactly maxLength', async () => {
    expect((await batch([Buffer.from('y'.repeat(64) + '\n')], 64)).flat()).to.deep.equal(['y'.repeat(64)])
  })
})
