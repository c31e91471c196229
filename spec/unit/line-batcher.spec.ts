// LineBatcher: spool bytes → arrays of lines, one array per chunk that completes a line.
// Edge cases in the spirit of split2's own tests: lines and characters cut anywhere by chunk
// boundaries, a missing final newline, an empty file, and the line cap.
import { expect } from 'chai'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { LineBatcher } from '../../lib/spool/line-batcher.js'

/** Runs `chunks` through a batcher; resolves to the arrays it pushed. */
async function batch (chunks: readonly Buffer[], maxLineBytes = 1024): Promise<string[][]> {
  const arrays: string[][] = []
  const sink = new Writable({
    objectMode: true,
    write (lines: string[], _encoding, callback) {
      arrays.push(lines)
      callback()
    }
  })
  await pipeline(Readable.from(chunks, { objectMode: false }), new LineBatcher(maxLineBytes), sink)
  return arrays
}

/** `text` cut into chunks of `size` bytes (so multi-byte characters are cut too). */
function chunked (text: string, size: number): Buffer[] {
  const bytes = Buffer.from(text, 'utf8')
  const chunks: Buffer[] = []
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size))
  return chunks
}

describe('LineBatcher', () => {
  it('gives one array per chunk, holding the lines that chunk completes', async () => {
    expect(await batch([Buffer.from('a\nb\nc'), Buffer.from('d\ne\n')])).to.deep.equal([['a', 'b'], ['cd', 'e']])
  })

  it('gives nothing for an empty file', async () => {
    expect(await batch([])).to.deep.equal([])
  })

  it('keeps a final line that has no newline', async () => {
    expect(await batch([Buffer.from('a\nlast')])).to.deep.equal([['a'], ['last']])
  })

  it('pushes nothing for a chunk that completes no line', async () => {
    expect(await batch([Buffer.from('ab'), Buffer.from('cd'), Buffer.from('\n')])).to.deep.equal([['abcd']])
  })

  it('keeps an empty line as an empty string (a spool has none, but none is lost)', async () => {
    expect(await batch([Buffer.from('a\n\nb\n')])).to.deep.equal([['a', '', 'b']])
  })

  for (const size of [1, 2, 3, 5]) {
    it(`reads multi-byte characters whole when chunks are ${size} byte(s) long`, async () => {
      const text = '{"id":"é€😀","payload":"ünïcödé ✓"}\n{"id":2,"payload":"日本語"}\n'
      const lines = (await batch(chunked(text, size))).flat()
      expect(lines).to.deep.equal(['{"id":"é€😀","payload":"ünïcödé ✓"}', '{"id":2,"payload":"日本語"}'])
    })
  }

  it('fails the stream with line_too_long when a line outgrows maxLineBytes', async () => {
    const err: unknown = await expect(batch([Buffer.from('ok\n'), Buffer.from('x'.repeat(40)), Buffer.from('x'.repeat(40))], 64)).to.be.rejected
    expect((err as { code?: unknown }).code).to.equal('line_too_long')
  })

  it('takes a line of exactly maxLineBytes', async () => {
    const line = 'y'.repeat(64)
    expect((await batch(chunked(`${line}\n${line}\n`, 10), 64)).flat()).to.deep.equal([line, line])
  })

  it('gives back every line of a large file, in order, whatever the chunk sizes', async () => {
    const lines = Array.from({ length: 5000 }, (_, i) => JSON.stringify({ id: i, payload: 'ü'.repeat(i % 37) }))
    const text = lines.map((line) => `${line}\n`).join('')
    for (const size of [7, 4096, 256 * 1024]) {
      expect((await batch(chunked(text, size))).flat(), `chunks of ${size}`).to.deep.equal(lines)
    }
  })
})
