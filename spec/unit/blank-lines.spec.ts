// skipBlankLines(): whole blank lines skipped at memory speed (issue 18 item 9), checked
// against a plain byte-by-byte reference on patterned and seeded random input.
import { expect } from 'chai'
import { isBlankByte, skipBlankLines, type BlankRun } from '../../lib/upload/blank-lines.js'
import { seededRandom } from '../helpers/seeded-random.js'

/** The obvious definition: whole lines of SP, TAB, CR ended by LF, each at most max bytes before its LF. */
function reference (chunk: Buffer, start: number, limit: number, max: number): BlankRun {
  let end = start
  let lines = 0
  let lineStart = start
  for (let i = start; i < limit; i++) {
    const byte = chunk[i]
    if (byte === 0x0a) {
      if (i - lineStart > max) break
      lines++
      lineStart = end = i + 1
    } else if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) {
      break
    }
  }
  return { end, lines }
}

function check (text: string | Buffer, max = 1024 * 1024, start = 0, limit?: number): BlankRun {
  const chunk = typeof text === 'string' ? Buffer.from(text, 'latin1') : text
  const end = limit ?? chunk.length
  const run = skipBlankLines(chunk, start, end, max)
  expect(run).to.deep.equal(reference(chunk, start, end, max))
  return run
}

describe('skipBlankLines()', () => {
  const cases: Array<[string, string, BlankRun]> = [
    ['an empty range', '', { end: 0, lines: 0 }],
    ['one LF', '\n', { end: 1, lines: 1 }],
    ['CRLF lines', '\r\n\r\n', { end: 4, lines: 2 }],
    ['white space lines', ' \t\r \n  \n', { end: 8, lines: 2 }],
    ['a record line', '{"id":1}\n', { end: 0, lines: 0 }],
    ['blank lines, then a record', '\n \n{"id":1}\n', { end: 3, lines: 2 }],
    ['blank lines, then an indented record', '\n  {"id":1}\n', { end: 1, lines: 1 }],
    ['a blank line still open at the end', '\n\n   ', { end: 2, lines: 2 }],
    ['a vertical tab (not skipped here)', '\n\v\n', { end: 1, lines: 1 }]
  ]
  for (const [what, text, run] of cases) {
    it(`skips ${what} exactly`, () => {
      expect(check(text)).to.deep.equal(run)
    })
  }

  it('leaves a blank line longer than maxLineBytes to the caller', () => {
    expect(check('\n\n' + ' '.repeat(11) + '\n\n', 10)).to.deep.equal({ end: 2, lines: 2 })
    expect(check('\n' + ' '.repeat(10) + '\n\n', 10)).to.deep.equal({ end: 13, lines: 3 })
  })

  it('leaves an over-long line inside a long repeated run to the caller', () => {
    const text = '  \n'.repeat(50_000) + ' '.repeat(300) + '\n' + '\n'.repeat(10)
    expect(check(text, 256)).to.deep.equal({ end: 150_000, lines: 50_000 })
  })

  it('stops at `limit` and starts at `start`', () => {
    const text = '{"x":1}\n' + '\n'.repeat(100) + ' \n'.repeat(100)
    expect(check(text, 1024, 8, 58)).to.deep.equal({ end: 58, lines: 50 })
    expect(check(text, 1024, 108, text.length - 1)).to.deep.equal({ end: text.length - 2, lines: 99 })
  })

  const patterns = ['\n', '\r\n', '  \n', ' \t\r\n', '\n \n', '\t\n\n \r\n', '\n\n\n\n\n\n\n \n', '   \n\n  \n \n\n\n\r\n\t\n\n']
  for (const pattern of patterns) {
    it(`counts every line of a long run of ${JSON.stringify(pattern)}, then stops at the record`, () => {
      for (const size of [1, 7, 4096, 100_000, 1_000_003]) {
        const text = pattern.repeat(Math.ceil(size / pattern.length)).slice(0, size)
        check(text + '{"id":1}\n')
        check(text)
      }
    })
  }

  it('agrees with the reference on seeded random blank runs', () => {
    const random = seededRandom(18)
    const alphabet = [' ', '\t', '\r', '\n', '\n', '\n']
    for (let round = 0; round < 300; round++) {
      let text = ''
      // Random pieces, some repeated many times, so both the scan and the repeat jumps run.
      while (text.length < 20_000) {
        let piece = ''
        const pieceLength = 1 + Math.floor(random() * 12)
        for (let i = 0; i < pieceLength; i++) piece += alphabet[Math.floor(random() * alphabet.length)] as string
        text += piece.repeat(random() < 0.3 ? 1 + Math.floor(random() * 2000) : 1)
      }
      if (random() < 0.5) text += random() < 0.5 ? '{' : ' '.repeat(40) + '\n'
      const max = random() < 0.5 ? 1 << 20 : 1 + Math.floor(random() * 40)
      const start = Math.floor(random() * 3)
      check(text, max, start, text.length - Math.floor(random() * 5))
    }
  })

  it('knows the blank bytes', () => {
    expect([0x0a, 0x0d, 0x20, 0x09].map(isBlankByte)).to.deep.equal([true, true, true, true])
    expect([0x00, 0x0b, 0x0c, 0x7b, 0xa0, undefined].map(isBlankByte)).to.deep.equal([false, false, false, false, false, false])
  })
})
