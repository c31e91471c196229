// scanRecord() and matchRecordLine(): the upload's fast paths may only ever say "good" of a
// line the exact check (JSON.parse + recordProblem) also takes as a record. Checked on fixed
// tricky lines and on many generated lines, good ones and mutated ones, compared one by one
// with the exact check; then whole uploads of mixed lines through the validator, against a
// line-by-line model.
import { expect } from 'chai'
import { isUtf8 } from 'node:buffer'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { InvalidRecordError } from '../../lib/errors.js'
import { MAX_PAYLOAD_DEPTH, RECORD_REASON_TEXT, recordProblem } from '../../lib/domain/record.js'
import { createLineValidator } from '../../lib/upload/line-validator.js'
import { scanRecord } from '../../lib/upload/record-scan.js'
import { matchRecordLine } from '../../lib/upload/record-pattern.js'
import { seededRandom } from '../helpers/seeded-random.js'

/** The exact check's reason for a record line ('blank' for a blank one), or null for a record. */
function exactProblem (line: string): string | null {
  if (line.trim() === '') return 'blank'
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    return RECORD_REASON_TEXT.not_json
  }
  const problem = recordProblem(value, line)
  return problem === null ? null : RECORD_REASON_TEXT[problem]
}

/** scanRecord's verdict on a line (no LF in it), with and without its LF; both must agree. */
function fastSaysGood (line: string): boolean {
  const bytes = Buffer.from(line, 'utf8')
  const ended = scanRecord(Buffer.concat([bytes, Buffer.from('\n{"id":1,"payload":"next"}')]), 0, bytes.length + 1)
  const bare = scanRecord(bytes, 0, bytes.length)
  expect(ended, `with LF: ${JSON.stringify(line)}`).to.be.oneOf([-1, bytes.length])
  expect(bare, `the same verdict without LF: ${JSON.stringify(line)}`).to.equal(ended === -1 ? -1 : bytes.length)
  return ended !== -1
}

function expectAgreement (line: string): boolean {
  const isGood = fastSaysGood(line)
  if (isGood) expect(exactProblem(line), `fast path took a bad line: ${JSON.stringify(line)}`).to.equal(null)
  return isGood
}

/**
 * matchRecordLine's verdict on a line (no LF in it), given as the validator gives it: the
 * latin1 text of its UTF-8 bytes, after another line and followed by its LF and the next line.
 */
function patternSaysGood (line: string): boolean {
  const before = '{"id":0,"payload":"before"}\n'
  const text = Buffer.from(`${before}${line}\n{"id":1,"payload":"next"}\n`, 'utf8').toString('latin1')
  const end = matchRecordLine(text, before.length)
  expect(end, `a match ends at the line's LF: ${JSON.stringify(line)}`).to.be.oneOf([-1, before.length + Buffer.byteLength(line)])
  return end !== -1
}

function expectPatternAgreement (line: string): boolean {
  const isGood = patternSaysGood(line)
  if (isGood) {
    expect(exactProblem(line), `the pattern took a bad line: ${JSON.stringify(line)}`).to.equal(null)
    // What it takes is a subset of what the byte scan proves.
    expect(fastSaysGood(line), `the pattern took a line the scan does not: ${JSON.stringify(line)}`).to.equal(true)
  }
  return isGood
}

const nest = (levels: number, inner = '1'): string => '['.repeat(levels) + inner + ']'.repeat(levels)

describe('scanRecord()', () => {
  const good = [
    '{"id":10000001,"payload":"{\\"v\\":1,\\"user_id\\":\\"user_1\\"}"}',
    '{"id":1,"payload":{"v":1,"user_id":"user_1","amount":12.5,"ok":true,"none":null,"list":[1,-2e3,0.5E+2]}}',
    '{"id":"abc","payload":[]}', '{"id":-0,"payload":""}', '{"id":0,"payload":{}}', '{"id":999999999999999,"payload":"x"}',
    '{"id":"' + 'x'.repeat(256) + '","payload":"p"}', '{"id":"' + 'é'.repeat(128) + '","payload":"p"}',
    '{"id":"' + '\\u00e9'.repeat(42) + '","payload":"p"}',
    '  {\t"payload" : "p" ,\r"id" :1 }  \r', '{"id":1,"payload":"\\ud83d\\ude00 \\u00e9 \\n\\t\\/\\\\\\b\\f\\r"}',
    '{"id":"😀é","payload":{"é":"😀","\\ud83d\\ude00":[]}}', '{"x":{"id":1.5},"id":2,"payload":"p","extra":[null,false]}',
    `{"id":1,"payload":${nest(MAX_PAYLOAD_DEPTH)}}`, '{"id":1,"payload":"\\u007f\x7f"}'
  ]
  for (const line of good) {
    it(`takes a good line: ${line.slice(0, 60)}`, () => {
      expect(exactProblem(line)).to.equal(null)
      expect(fastSaysGood(line)).to.equal(true)
    })
  }

  const bad = [
    '{"id":1.5,"payload":"p"}', '{"id":1.0,"payload":"p"}', '{"id":1e3,"payload":"p"}', '{"id":9007199254740993,"payload":"p"}',
    '{"id":1000000000000000,"payload":"p"}', '{"id":01,"payload":"p"}', '{"id":-,"payload":"p"}', '{"id":true,"payload":"p"}',
    '{"id":null,"payload":"p"}', '{"id":[1],"payload":"p"}', '{"id":"' + 'x'.repeat(257) + '","payload":"p"}',
    '{"id":"' + 'é'.repeat(129) + '","payload":"p"}',
    '{"id":"\\ud800","payload":"p"}', '{"id":1,"payload":"\\udc00"}', '{"id":1,"payload":"\\ude00\\ud83d"}',
    '{"id":1,"payload":"\\ud83d\\u0041"}', '{"id":1,"payload":{"\\ud800":1}}', '{"id":1,"payload":["\\uDBFF"]}',
    `{"id":1,"payload":${nest(MAX_PAYLOAD_DEPTH + 1)}}`, '{"id":1,"payload":1}', '{"id":1,"payload":null}', '{"id":1,"payload":true}',
    '{"id":1}', '{"payload":"p"}', '{}', '[]', '"x"', '{"id":1,"payload":"p",}', '{"id":1,"payload":"p"} x', '{"id":1,"payload":"p"}}',
    '{"id":1,"payload":"p"', '{"id":1,"payload":"p\x01"}', '{"id":1,"payload":"p\x1f"}', '{"id":1,"payload":"p\t"}', '{"id":1,"payload":"\\x"}', '{"id":1,"payload":"\\u12"}',
    '{"id":1,"payload":"p","id":1.5}', '{"id":1,"payload":"p","payload":1}', '{"id":1 "payload":"p"}', '{"id":1,"payload":[1,]}',
    '{"id":1,"payload":{"a":}}', '{"id":1,"payload":{"a" 1}}', '{"id":1,"payload":[01]}', '{"id":1,"payload":[1.]}', '{"id":1,"payload":[.5]}',
    '{"id":1,"payload":[1e]}', '{"id":1,"payload":[tru]}', '{"id":1,"payload":[nul]}', '{"id":1,"payload":{"a":1]}', '{"id":1,"payload":[1}}',
    '\f{"id":1,"payload":"p"}', '{"id":1,"payload":"p"}\f', '\u00a0{"id":1,"payload":"p"}', '{"id":1,"payload":"p"}\u2028',
    '{"id":1,"payload":é}', '{"\\u0069d":1.5,"payload":"p"}', '{"id":1,"pay\\u006coad":"p"}'
  ]
  for (const line of bad) {
    it(`leaves a line to the exact check: ${line.slice(0, 60)}`, () => {
      expect(fastSaysGood(line)).to.equal(false)
    })
  }

  it('stops at the first LF: the next line is never read as part of this one', () => {
    const split = Buffer.from('{"id":1,"payload":"a\n","id":2}\n')
    expect(scanRecord(split, 0, split.length)).to.equal(-1)
    const two = Buffer.from('{"id":1,"payload":"a"}\n{"id":2,"payload":"b"}\n')
    expect(scanRecord(two, 0, two.length)).to.equal(22)
    expect(scanRecord(two, 23, two.length)).to.equal(two.length - 1)
  })

  it('leaves a string id written in over MAX_ID_BYTES bytes to the exact check, which takes it when it decodes short', () => {
    const line = '{"id":"' + '\\u00e9'.repeat(50) + '","payload":"p"}'
    expect(fastSaysGood(line)).to.equal(false)
    expect(exactProblem(line)).to.equal(null)
  })

  it('agrees with the exact check on 40,000 generated and mutated lines', () => {
    const random = seededRandom(17)
    let taken = 0
    let goodTaken = 0
    for (let n = 0; n < 20_000; n++) {
      const line = randomRecordLine(random)
      if (exactProblem(line) === null && expectAgreement(line)) goodTaken++
      // A raw lone surrogate a mutation put in would be sent as U+FFFD's bytes: compare what is sent.
      for (const variant of [mutate(line, random), mutate(mutate(line, random), random)].map((text) => text.toWellFormed())) {
        if (expectAgreement(variant)) taken++
      }
    }
    // The fast path is used: most good lines skip the exact check, and some mutants are still good.
    expect(goodTaken).to.be.above(15_000)
    expect(taken).to.be.above(5000)
  })
})

describe('matchRecordLine()', () => {
  const taken = [
    '{"id":10000001,"payload":"{\\"v\\":1,\\"user_id\\":\\"user_1\\"}"}',
    '{"id":10000001,"payload":{"v":1,"user_id":"user_601103","action":"signup","amount":852.47,"ts":1788346332}}',
    '{"id":1,"payload":{"a":-0.5e+3,"b":true,"c":false,"d":null,"e":"\\u00e9\\ud83d\\ude00"}}', '{"id":"abc","payload":[]}',
    '{"id":-0,"payload":""}', '{"id":0,"payload":{}}', '{"id":999999999999999,"payload":"x"}', '{"id":1,"payload":[1,"a",null]}',
    '{"id":"' + 'x'.repeat(256) + '","payload":"p"}', '{"id":1,"payload":"\\ud83d\\ude00 \\u00e9 \\n\\t\\/\\\\\\b\\f\\r\\u007f\x7f"}'
  ]
  for (const line of taken) {
    it(`takes a good line of the usual shape: ${line.slice(0, 60)}`, () => {
      expect(exactProblem(line)).to.equal(null)
      expect(patternSaysGood(line)).to.equal(true)
    })
  }

  const left = [
    '{"id":1.5,"payload":"p"}', '{"id":1e3,"payload":"p"}', '{"id":1000000000000000,"payload":"p"}', '{"id":01,"payload":"p"}',
    '{"id":-,"payload":"p"}', '{"id":true,"payload":"p"}', '{"id":"' + 'x'.repeat(257) + '","payload":"p"}', '{"id":"\\ud800","payload":"p"}',
    '{"id":1,"payload":"\\udc00"}', '{"id":1,"payload":"\\ude00\\ud83d"}', '{"id":1,"payload":"\\ud83d\\u0041"}', '{"id":1,"payload":"\\ud83d"}',
    '{"id":1,"payload":{"\\ud800":1}}', '{"id":1,"payload":["\\uDBFF"]}', '{"id":1,"payload":1}', '{"id":1,"payload":null}',
    '{"id":1}', '{"payload":"p"}', '{"id":1,"payload":"p",}', '{"id":1,"payload":"p"} ', '{"id":1,"payload":"p"}\r', '{"id":1,"payload":"p"}}',
    '{"id":1,"payload":"p\x01"}', '{"id":1,"payload":"p\t"}', '{"id":1,"payload":"\\x"}', '{"id":1,"payload":"\\u12"}', '{"id":1,"payload":"\\u12g4"}',
    '{"id":1,"payload":[1,]}', '{"id":1,"payload":{"a":}}', '{"id":1,"payload":[01]}', '{"id":1,"payload":[1.]}', '{"id":1,"payload":[.5]}',
    '{"id":1,"payload":[1e]}', '{"id":1,"payload":[tru]}', '{"id":1,"payload":{"a":1]}', '{"id":1,"payload":[1}}', '{"id":1,"payload":{"a":1,"a":2,}}'
  ]
  for (const line of left) {
    it(`leaves a line to the scan: ${line.slice(0, 60)}`, () => {
      expect(patternSaysGood(line)).to.equal(false)
    })
  }

  it('leaves a line with more escapes or members than it counts to the scan, without a deep backtracking stack', () => {
    const escapes = '{"id":1,"payload":"' + '\\"'.repeat(2_000_000) + '"}'
    const members = '{"id":1,"payload":{' + Array.from({ length: 100_000 }, (_, k) => `"a${k}":"\\n"`).join(',') + '}}'
    for (const line of [escapes, members]) {
      expect(exactProblem(line)).to.equal(null)
      expect(patternSaysGood(line)).to.equal(false)
      expect(fastSaysGood(line)).to.equal(true)
    }
    expect(patternSaysGood('{"id":1,"payload":"' + '\\"'.repeat(256) + '"}')).to.equal(true)
    expect(patternSaysGood('{"id":1,"payload":"' + '\\"'.repeat(257) + '"}')).to.equal(false)
  })

  it('agrees with the exact check on 40,000 generated and mutated lines', () => {
    const random = seededRandom(19)
    let taken = 0
    let goodTaken = 0
    for (let n = 0; n < 20_000; n++) {
      const line = random() < 0.5 ? usualRecordLine(random) : randomRecordLine(random)
      if (exactProblem(line) === null && expectPatternAgreement(line)) goodTaken++
      for (const variant of [mutate(line, random), mutate(mutate(line, random), random)].map((text) => text.toWellFormed())) {
        if (expectPatternAgreement(variant)) taken++
      }
    }
    // Most good lines of the usual shape are taken (not those with an escaped string id).
    expect(goodTaken).to.be.above(6000)
    expect(taken).to.be.above(2000)
  })
})

describe('createLineValidator() with the fast path', () => {
  it('reports the same lines and reasons as a line-by-line exact check, in any chunking', async () => {
    const random = seededRandom(18)
    for (let upload = 0; upload < 150; upload++) {
      const lines = ['{"primarykey":"k","protocol":"http","host":"127.0.0.1","port":8080,"path":"/"}']
      const badEvery = upload % 3 === 0 ? Infinity : 2 + Math.floor(random() * 40)
      for (let n = 0; n < 200; n++) {
        const line = randomRecordLine(random)
        const pick = random()
        lines.push(n % badEvery === badEvery - 1 ? mutate(line, random) : pick < 0.03 ? '  \t' : pick < 0.06 ? line + '\r' : line)
      }
      const body = Buffer.from(lines.map((line) => line.replace(/\n/g, ' ') + '\n').join(''), 'utf8')
      const expected: Array<{ line: number, reason: string }> = []
      let records = 0
      body.toString('utf8').split('\n').slice(1, -1).forEach((text, index) => {
        const bytes = Buffer.from(text, 'utf8')
        const problem = !isUtf8(bytes) ? 'not valid UTF-8' : exactProblem(text.endsWith('\r') ? text.slice(0, -1) : text)
        if (problem === 'blank') return
        if (problem === null) records++
        else expected.push({ line: index + 2, reason: problem })
      })
      const chunkBytes = [7, 100, 4096, 65536][upload % 4] as number
      const result = await validate(body, chunkBytes)
      if (expected.length === 0) {
        expect(result).to.deep.equal({ records })
      } else {
        expect(result).to.deep.equal({ details: expected.slice(0, 20) })
      }
    }
  })
})

async function validate (body: Buffer, chunkBytes: number): Promise<{ records: number } | { details: unknown }> {
  const validator = createLineValidator({
    maxLineBytes: 1024 * 1024,
    maxUploadBytes: 64 * 1024 * 1024,
    specLimits: { defaultConcurrency: 4, maxConcurrency: 256, defaultTimeoutMs: 30_000, defaultMaxAttempts: 3 }
  })
  const chunks: Buffer[] = []
  for (let start = 0; start < body.length; start += chunkBytes) chunks.push(body.subarray(start, start + chunkBytes))
  try {
    await pipeline(Readable.from(chunks), validator, new Writable({ write (_chunk, _encoding, callback) { callback() } }))
    return { records: validator.records }
  } catch (err) {
    if (!(err instanceof InvalidRecordError)) throw err
    return { details: err.details }
  }
}

type Random = () => number
const pick = <T>(random: Random, list: readonly T[]): T => list[Math.floor(random() * list.length)] as T
const CHARS = ['a', 'Z', '0', ' ', '"', '\\', '/', 'é', '😀', '\u2028', '\x7f', '{', '}', '[', ']', ':', ',', '\t']
const LONE = ['\ud800', '\udc00', '\udbff']

function randomString (random: Random, maxLength: number): string {
  let text = ''
  const length = Math.floor(random() * maxLength)
  for (let k = 0; k < length; k++) text += pick(random, random() < 0.01 ? LONE : CHARS)
  return text
}

/** JSON text of a string, with some characters written as \u escapes and a lone surrogate now and then. */
function stringJson (text: string, random: Random): string {
  let out = '"'
  for (const char of text) {
    const code = char.codePointAt(0) as number
    if (char === '"' || char === '\\' || code < 0x20) out += JSON.stringify(char).slice(1, -1)
    else if (random() < 0.15 || (code >= 0xd800 && code <= 0xdfff)) out += escapeUnits(char)
    else out += char
  }
  return out + '"'
}

const escapeUnits = (char: string): string =>
  Array.from({ length: char.length }, (_, k) => `\\u${char.charCodeAt(k).toString(16).padStart(4, '0')}`).join('')

const space = (random: Random): string => random() < 0.85 ? '' : pick(random, [' ', '\t', '\r', '  '])

function valueJson (random: Random, depth: number): string {
  const kind = random()
  if (depth > 0 && kind < 0.25) {
    const members = Array.from({ length: Math.floor(random() * 4) }, () => `${space(random)}${stringJson(randomString(random, 6), random)}${space(random)}:${space(random)}${valueJson(random, depth - 1)}${space(random)}`)
    return `{${members.join(',')}}`
  }
  if (depth > 0 && kind < 0.4) return `[${Array.from({ length: Math.floor(random() * 4) }, () => space(random) + valueJson(random, depth - 1) + space(random)).join(',')}]`
  if (kind < 0.6) return stringJson(randomString(random, 12), random)
  if (kind < 0.8) return pick(random, ['0', '-1', '12.5', '1e3', '-0.25E-2', '123456789012345678901', 'true', 'false', 'null'])
  return depth > 60 ? nest(depth) : String(Math.floor(random() * 1000))
}

function randomRecordLine (random: Random): string {
  const idKind = random()
  const id = idKind < 0.5
    ? String(Math.floor(random() * 10 ** Math.floor(random() * 16)) * (random() < 0.1 ? -1 : 1))
    : idKind < 0.9 ? stringJson(randomString(random, 20), random) : pick(random, ['"' + 'x'.repeat(256) + '"', '1.5', '9007199254740993', '"\\ud800"'])
  const payloadKind = random()
  const payload = payloadKind < 0.4
    ? stringJson(JSON.stringify({ v: 1, user: randomString(random, 10), amount: random() * 100 }), random)
    : payloadKind < 0.95 ? `{"v":1,"inner":${valueJson(random, 3)},"list":[${valueJson(random, 2)}]}` : nest(MAX_PAYLOAD_DEPTH + Math.floor(random() * 2))
  const members = [`"id":${space(random)}${id}`, `"payload":${space(random)}${payload}`]
  if (random() < 0.2) members.push(`"other":${valueJson(random, 2)}`)
  if (random() < 0.5) members.reverse()
  return `${space(random)}{${space(random)}${members.join(`${space(random)},${space(random)}`)}${space(random)}}${space(random)}`
}

/** A compact record line of the shape the pattern is for: `{"id":…,"payload":…}`, flat payload. */
function usualRecordLine (random: Random): string {
  const id = random() < 0.7 ? String(Math.floor(random() * 10 ** Math.floor(random() * 16)) * (random() < 0.1 ? -1 : 1)) : stringJson(randomString(random, 20), random)
  const scalar = (): string => random() < 0.5 ? stringJson(randomString(random, 12), random) : pick(random, ['0', '-1', '12.5', '1e3', '-0.25E-2', 'true', 'false', 'null'])
  const members = Array.from({ length: Math.floor(random() * 6) }, () => `${stringJson(randomString(random, 6), random)}:${scalar()}`)
  const kind = random()
  const payload = kind < 0.4
    ? stringJson(JSON.stringify({ v: 1, user: randomString(random, 10), amount: random() * 100 }), random)
    : kind < 0.8 ? `{${members.join(',')}}` : `[${members.map(() => scalar()).join(',')}]`
  return `{"id":${id},"payload":${payload}}`
}

/** One random edit: a character dropped, doubled, replaced or inserted, or the line cut short. */
function mutate (line: string, random: Random): string {
  const chars = [...line]
  const at = Math.floor(random() * chars.length)
  const edit = random()
  if (edit < 0.25) chars.splice(at, 1)
  else if (edit < 0.45) chars.splice(at, 0, chars[at] ?? '')
  else if (edit < 0.7) chars[at] = pick(random, [...CHARS, ...LONE, '1', '.', 'e', '-', 'u', 'd', '8', 'n', 't', 'f', '\x01', '\x1f', '\f'])
  else if (edit < 0.9) chars.splice(at, 0, pick(random, ['\\u', '\\ud83d', '\\udc00', '"id":1,', '"payload":2,', ',', '1', '[', '{', '"']))
  else return chars.slice(0, at).join('')
  return chars.join('')
}
