// parseRecord(): one record line of DESIGN §1. A bad line is a reason string, never a throw.
import { expect } from 'chai'
import {
  headerSafeId, MAX_ID_BYTES, MAX_PAYLOAD_DEPTH, parseRecord, recordFromValue, RECORD_REASON_TEXT, type JobRecord, type RecordReason
} from '../../lib/domain/record.js'

/** A payload of `depth` nested arrays, as JSON text: depth 1 is `[]`. */
const nested = (depth: number, inner = ''): string => '['.repeat(depth) + inner + ']'.repeat(depth)

function accept (line: string, index = 0): JobRecord {
  const record = parseRecord(line, index)
  if (typeof record === 'string') expect.fail(`expected ${line} to parse, got ${record}`)
  return record
}

describe('parseRecord()', () => {
  describe('ids', () => {
    const cases: Array<[string, string, string, string]> = [
      ['a string id', '{"id":"abc","payload":"x"}', 'abc', '"abc"'],
      ['a numeric-looking string id', '{"id":"12","payload":"x"}', '12', '"12"'],
      ['a string id with a quote and a backslash', '{"id":"a\\"b\\\\c","payload":"x"}', 'a"b\\c', '"a\\"b\\\\c"'],
      ['an integer id', '{"id":12,"payload":"x"}', '12', '12'],
      ['the id 0', '{"id":0,"payload":"x"}', '0', '0'],
      ['a negative integer id', '{"id":-7,"payload":"x"}', '-7', '-7'],
      ['the largest safe integer', `{"id":${Number.MAX_SAFE_INTEGER},"payload":"x"}`, '9007199254740991', '9007199254740991'],
      ['an integer written as 1.0', '{"id":1.0,"payload":"x"}', '1', '1'],
      ['an integer written in exponent form', '{"id":1e3,"payload":"x"}', '1000', '1000']
    ]
    for (const [what, line, id, idJson] of cases) {
      it(`accepts ${what}`, () => {
        const record = accept(line)
        expect(record.id).to.equal(id)
        expect(record.idJson).to.equal(idJson)
      })
    }

    it('writes idJson as JSON text that reads back to the id', () => {
      for (const line of ['{"id":"x\\ny","payload":"p"}', '{"id":42,"payload":"p"}']) {
        const record = accept(line)
        expect(String(JSON.parse(record.idJson))).to.equal(decodeURIComponent(record.id))
        expect(JSON.parse(record.idJson)).to.equal((JSON.parse(line) as { id: unknown }).id)
      }
    })

    const bad: Array<[string, string]> = [
      ['a float id', '{"id":1.5,"payload":"x"}'],
      ['a negative float id', '{"id":-0.5,"payload":"x"}'],
      ['an unsafe integer id', '{"id":9007199254740992,"payload":"x"}'],
      ['a huge id', '{"id":1e300,"payload":"x"}'],
      ['a null id', '{"id":null,"payload":"x"}'],
      ['a boolean id', '{"id":true,"payload":"x"}'],
      ['an object id', '{"id":{"n":1},"payload":"x"}'],
      ['an array id', '{"id":[1],"payload":"x"}'],
      ['a missing id', '{"payload":"x"}'],
      ['an id under another name', '{"ID":1,"payload":"x"}']
    ]
    for (const [what, line] of bad) {
      it(`refuses ${what} as invalid_id`, () => {
        expect(parseRecord(line, 0)).to.equal('invalid_id')
      })
    }

    // JobRecord.id is "the id as sent in headers" (x-chronos-record-id, idempotency-key),
    // and undici refuses header values outside RFC 9110's field-value (UND_ERR_INVALID_ARG),
    // so today such a record is accepted at upload and then fails with request_error without
    // ever being sent. Either refusing it (invalid_id) or encoding the id would do.
    const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/
    const headerUnsafe: Array<[string, string]> = [
      ['a newline', '{"id":"a\\nb","payload":"x"}'],
      ['a control character', '{"id":"a\\u0001b","payload":"x"}'],
      ['a character above U+00FF', '{"id":"order-€5","payload":"x"}'],
      ['an emoji', '{"id":"😀","payload":"x"}']
    ]
    for (const [what, line] of headerUnsafe) {
      it(`gives no id that cannot be sent as a header for a string id with ${what}`, () => {
        const record = parseRecord(line, 0)
        if (typeof record === 'string') {
          expect(record).to.equal('invalid_id')
        } else {
          expect(HEADER_VALUE.test(record.id), JSON.stringify(record.id)).to.equal(true)
        }
      })
    }

    // Issue 18 item 7: ids are capped so results stay small.
    it(`accepts a string id of exactly ${MAX_ID_BYTES} bytes`, () => {
      expect(MAX_ID_BYTES).to.equal(256)
      for (const id of ['a'.repeat(256), '€'.repeat(85) + 'x', 'é'.repeat(128), '😀'.repeat(64)]) {
        expect(Buffer.byteLength(id)).to.equal(256)
        expect(accept(JSON.stringify({ id, payload: 'x' })).idJson).to.equal(JSON.stringify(id))
      }
    })

    for (const [what, id] of [['ASCII', 'a'.repeat(257)], ['three-byte characters', '€'.repeat(86)], ['escapes', '\u0001'.repeat(257)],
      ['two-byte characters', 'é'.repeat(128) + 'x'], ['a 500 KiB id', 'z'.repeat(500 * 1024)]] as const) {
      it(`refuses a string id over ${MAX_ID_BYTES} bytes (${what}) as id_too_long`, () => {
        expect(parseRecord(JSON.stringify({ id, payload: 'x' }), 0)).to.equal('id_too_long')
      })
    }

    it('checks the id before the payload', () => {
      expect(parseRecord('{"payload":null}', 0)).to.equal('invalid_id')
    })
  })

  describe('payloads', () => {
    const cases: Array<[string, string, string]> = [
      ['a string, verbatim', '{"id":1,"payload":"{\\"user_id\\":\\"user_001\\",\\"amount\\":99.99}"}', '{"user_id":"user_001","amount":99.99}'],
      ['a string with its white space and number forms kept', '{"id":1,"payload":"  { \\"a\\" : 1.50 }  "}', '  { "a" : 1.50 }  '],
      ['a string that is not JSON', '{"id":1,"payload":"plain text"}', 'plain text'],
      ['an empty string', '{"id":1,"payload":""}', ''],
      ['a string with unicode escapes', '{"id":1,"payload":"caf\\u00e9 \\ud83d\\ude00"}', 'café 😀'],
      ['an object, as compact JSON', '{"id":1,"payload": { "a" : [1, 2] , "b" : "c" } }', '{"a":[1,2],"b":"c"}'],
      ['a nested object', '{"id":1,"payload":{"a":{"b":{"c":null}}}}', '{"a":{"b":{"c":null}}}'],
      ['an empty object', '{"id":1,"payload":{}}', '{}'],
      ['an array, as compact JSON', '{"id":1,"payload":[ 1, {"x" : true}, "s" ]}', '[1,{"x":true},"s"]'],
      ['an empty array', '{"id":1,"payload":[]}', '[]']
    ]
    for (const [what, line, payload] of cases) {
      it(`sends ${what}`, () => {
        expect(accept(line).payload).to.equal(payload)
      })
    }

    const bad: Array<[string, string]> = [
      ['a null payload', '{"id":1,"payload":null}'],
      ['a number payload', '{"id":1,"payload":42}'],
      ['a zero payload', '{"id":1,"payload":0}'],
      ['a true payload', '{"id":1,"payload":true}'],
      ['a false payload', '{"id":1,"payload":false}'],
      ['a missing payload', '{"id":1}']
    ]
    for (const [what, line] of bad) {
      it(`refuses ${what} as invalid_payload`, () => {
        expect(parseRecord(line, 0)).to.equal('invalid_payload')
      })
    }
  })

  // Issue 18 item 1: such a record made encodeURIComponent or JSON.stringify throw when sent.
  describe('lone surrogates', () => {
    const bad: Array<[string, string]> = [
      ['a lone high surrogate id', '{"id":"\\ud800","payload":"x"}'],
      ['a lone low surrogate id', '{"id":"a\\udc00b","payload":"x"}'],
      ['an id with reversed surrogates', '{"id":"\\udc00\\ud800","payload":"x"}'],
      ['an id ending in a high surrogate', '{"id":"x\\uD83D","payload":"x"}'],
      ['a string payload', '{"id":1,"payload":"ab\\ud800"}'],
      ['a string payload with an upper-case escape', '{"id":1,"payload":"\\uDFFF"}'],
      ['a string in an object payload', '{"id":1,"payload":{"a":"\\ud800"}}'],
      ['a key in an object payload', '{"id":1,"payload":{"\\udbff":1}}'],
      ['a string deep in an array payload', '{"id":1,"payload":[1,[2,{"b":["ok","\\udc00"]}]]}']
    ]
    for (const [what, line] of bad) {
      it(`refuses ${what} as lone_surrogate`, () => {
        expect(parseRecord(line, 0)).to.equal('lone_surrogate')
      })
    }

    const good: Array<[string, string]> = [
      ['a surrogate pair escape', '{"id":"\\ud83d\\ude00","payload":"\\uD83D\\uDE00"}'],
      ['an escaped backslash before "ud800"', '{"id":"\\\\ud800","payload":{"k":"\\\\udc00"}}'],
      ['a lone surrogate in a field that is ignored', '{"id":1,"payload":"x","note":"\\ud800"}'],
      ['non-surrogate escapes', '{"id":"\\u00e9\\ud7ff\\ue000","payload":{"\\u00e9":"\\uFFFF"}}']
    ]
    for (const [what, line] of good) {
      it(`accepts ${what}`, () => {
        accept(line)
      })
    }
  })

  describe('payload depth', () => {
    it(`accepts a payload nested exactly ${MAX_PAYLOAD_DEPTH} levels`, () => {
      expect(MAX_PAYLOAD_DEPTH).to.equal(64)
      expect(accept(`{"id":1,"payload":${nested(64)}}`).payload).to.equal(nested(64))
      expect(accept(`{"id":1,"payload":${'{"a":'.repeat(64)}1${'}'.repeat(64)}}`).payload).to.have.lengthOf(64 * 6 + 1)
    })

    const bad: Array<[string, string]> = [
      ['arrays 65 deep', `{"id":1,"payload":${nested(65)}}`],
      ['objects 65 deep', `{"id":1,"payload":${'{"a":'.repeat(65)}1${'}'.repeat(65)}}`],
      ['arrays 65 deep beside shallow ones', `{"id":1,"payload":[[1],${nested(64)},{"x":[]}]}`],
      ['arrays 100,000 deep', `{"id":1,"payload":${nested(100_000)}}`]
    ]
    for (const [what, line] of bad) {
      it(`refuses ${what} as payload_too_deep, without throwing`, () => {
        expect(parseRecord(line, 0)).to.equal('payload_too_deep')
      })
    }

    it('does not count brackets inside strings', () => {
      expect(accept(`{"id":1,"payload":{"s":"${'['.repeat(200)}"}}`).payload).to.have.lengthOf(208)
    })

    it('refuses a value whose depth it is given without the line', () => {
      expect(recordFromValue({ id: 1, payload: JSON.parse(nested(65)) }, 0)).to.equal('payload_too_deep')
      expect(recordFromValue({ id: 1, payload: { '\ud800': 1 } }, 0)).to.equal('lone_surrogate')
    })
  })

  describe('lines', () => {
    const notObjects = ['[]', '[{"id":1,"payload":"x"}]', '"text"', '42', 'null', 'true', 'false']
    for (const line of notObjects) {
      it(`refuses ${line} as not_an_object`, () => {
        expect(parseRecord(line, 0)).to.equal('not_an_object')
      })
    }

    const notJson = ['', ' ', '{', '{"id":1,"payload":"x"', "{'id':1,'payload':'x'}", '{id:1,payload:"x"}',
      '{"id":1,"payload":"x"}{"id":2,"payload":"y"}', '{"id":1,"payload":"x"},', 'NaN', '{"id":01,"payload":"x"}']
    for (const line of notJson) {
      it(`refuses ${JSON.stringify(line)} as not_json`, () => {
        expect(parseRecord(line, 0)).to.equal('not_json')
      })
    }

    it('accepts JSON white space around the object', () => {
      expect(accept(' \t{"id":1,"payload":"x"}\r').payload).to.equal('x')
    })

    it('ignores fields other than id and payload', () => {
      expect(accept('{"id":1,"payload":"x","extra":{"big":[1,2,3]},"note":null}')).to.deep.equal({
        index: 0, id: '1', idJson: '1', payload: 'x'
      })
    })

    it('keeps the index it is given', () => {
      expect(accept('{"id":"a","payload":"x"}', 41).index).to.equal(41)
    })

    it('takes the last of repeated fields, as JSON.parse does', () => {
      expect(accept('{"id":1,"payload":"first","payload":"second"}').payload).to.equal('second')
    })
  })
})

describe('recordFromValue()', () => {
  it('builds a record from a parsed value', () => {
    expect(recordFromValue({ id: 'r-1', payload: { a: 1 } }, 3)).to.deep.equal({ index: 3, id: 'r-1', idJson: '"r-1"', payload: '{"a":1}' })
  })

  const cases: Array<[string, unknown, RecordReason]> = [
    ['null', null, 'not_an_object'],
    ['undefined', undefined, 'not_an_object'],
    ['an array', [], 'not_an_object'],
    ['a string', '{"id":1}', 'not_an_object'],
    ['an object with a bigint id', { id: 1n, payload: 'x' }, 'invalid_id'],
    ['an object with a NaN id', { id: Number.NaN, payload: 'x' }, 'invalid_id'],
    ['an object with an undefined payload', { id: 1, payload: undefined }, 'invalid_payload']
  ]
  for (const [what, value, reason] of cases) {
    it(`refuses ${what} as ${reason}`, () => {
      expect(recordFromValue(value, 0)).to.equal(reason)
    })
  }
})

describe('RECORD_REASON_TEXT', () => {
  it('explains every reason', () => {
    expect(RECORD_REASON_TEXT).to.have.all.keys('not_json', 'not_an_object', 'invalid_id', 'id_too_long', 'invalid_payload',
      'payload_too_deep', 'lone_surrogate')
    for (const text of Object.values(RECORD_REASON_TEXT)) expect(text).to.be.a('string').and.not.equal('')
  })
})

// Issue 18 item 6: "é" and "%C3%A9" (or "a b" and "a%20b") gave the same header id.
describe('headerSafeId()', () => {
  const cases: Array<[string, string]> = [
    ['abc', 'abc'],
    ['order-17/x?y=1&z=[2]', 'order-17/x?y=1&z=[2]'],
    ['é', '%C3%A9'],
    ['%C3%A9', '%25C3%25A9'],
    ['a b', 'a%20b'],
    ['a%20b', 'a%2520b'],
    ['%', '%25'],
    ['', ''],
    ['line\nbreak', 'line%0Abreak'],
    ['tab\t"q"', 'tab%09"q"'],
    ['€5', '%E2%82%AC5'],
    ['😀', '%F0%9F%98%80'],
    ['\u007f', '%7F']
  ]
  for (const [id, header] of cases) {
    it(`encodes ${JSON.stringify(id)} as ${JSON.stringify(header)}`, () => {
      expect(headerSafeId(id)).to.equal(header)
    })
  }

  it('keeps ids of visible ASCII without "%" byte for byte', () => {
    let visible = ''
    for (let code = 0x21; code <= 0x7e; code++) if (code !== 0x25) visible += String.fromCharCode(code)
    expect(headerSafeId(visible)).to.equal(visible)
  })

  it('gives distinct header ids for ids that collided before', () => {
    const pairs = [['é', '%C3%A9'], ['a b', 'a%20b'], ['%', '%25'], ['%25', '%2525'], ['x\n', 'x%0A'], ['€', '%E2%82%AC']]
    for (const [a, b] of pairs) expect(headerSafeId(a as string), `${a} vs ${b}`).not.to.equal(headerSafeId(b as string))
  })

  it('is one-to-one: decodeURIComponent gives every id back', () => {
    const ids = ['plain', 'é', '%C3%A9', 'a b', 'a%20b', '%', '%%', '%2', '%zz', '100%', 'x\r\ny', '日本語', '😀 ok', '\u0000', ' ', '+', '\u00a0']
    const headers = new Set<string>()
    for (const id of ids) {
      const header = headerSafeId(id)
      expect(header).to.match(/^[\x21-\x7e]*$/)
      expect(decodeURIComponent(header)).to.equal(id)
      headers.add(header)
    }
    expect(headers.size).to.equal(ids.length)
  })

  it('gives the integer 1 and the string "1" the same header id (unique ids are the client\'s promise)', () => {
    const one = parseRecord('{"id":1,"payload":"x"}', 0) as JobRecord
    const oneText = parseRecord('{"id":"1","payload":"x"}', 1) as JobRecord
    expect(one.id).to.equal(oneText.id)
    expect(one.idJson).to.equal('1')
    expect(oneText.idJson).to.equal('"1"')
  })

  it('never throws, even for a lone surrogate (which the upload refuses)', () => {
    expect(headerSafeId('a\ud800')).to.equal('a%EF%BF%BD')
    expect(() => headerSafeId('\udc00\ud800')).not.to.throw()
  })
})
