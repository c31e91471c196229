// findRepeatedKeys() and repeatedFieldsError(): repeated members in the config line's raw
// JSON, which JSON.parse drops silently (issue 18 item 12).
import { expect } from 'chai'
import { findRepeatedKeys, repeatedFieldsError } from '../../lib/domain/duplicate-keys.js'

describe('findRepeatedKeys()', () => {
  const cases: Array<[string, string, string[]]> = [
    ['no repeats', '{"primarykey":"a","port":80,"metadata":[{"key":"k","value":"v"}]}', []],
    ['a repeated top-level member', '{"primarykey":"a","port":80,"primarykey":"b"}', ['primarykey']],
    ['the same value twice', '{"port":80,"port":80}', ['port']],
    ['a member repeated three times, reported once', '{"a":1,"a":2,"a":3}', ['a']],
    ['two different repeats', '{"a":1,"b":2,"b":3,"a":4}', ['b', 'a']],
    ['a repeat spelled with a \\u escape', '{"primarykey":"a","prim\\u0061rykey":"b"}', ['primarykey']],
    ['a repeat spelled with a \\/ escape', '{"a/b":1,"a\\/b":2}', ['a/b']],
    ['an escaped quote in a name', '{"a\\"b":1,"a\\"b":2,"a":3}', ['a"b']],
    ['a name ending in an escaped backslash', '{"a\\\\":1,"a\\\\":2}', ['a\\']],
    ['names that differ only after unescaping', '{"a\\"b":1,"a\\\\b":2}', []],
    ['a repeat inside a metadata entry', '{"metadata":[{"key":"k","value":"v"},{"key":"k2","key":"k3","value":"v"}]}', ['metadata[1].key']],
    ['the same names in sibling objects', '{"metadata":[{"key":"k","value":"v"},{"key":"k","value":"v"}]}', []],
    ['nested objects', '{"a":{"b":{"c":1,"c":2}},"b":1}', ['a.b.c']],
    ['keys that look like names inside string values', '{"path":"/x?\\"a\\":1,\\"a\\":2","a":1}', []],
    ['brackets and commas inside strings', '{"path":"/{[,]}","path2":"x,y}"}', []],
    ['whitespace around tokens', ' { "a" : 1 , "a" : [ 1 , { "b" : 2 , "b" : 3 } ] } ', ['a', 'a[1].b']],
    ['an empty name twice', '{"":1,"":2}', ['']],
    ['not an object', '[1,2,{"x":1,"x":2}]', ['[2].x']],
    ['a string', '"{\\"a\\":1,\\"a\\":2}"', []]
  ]

  for (const [name, json, expected] of cases) {
    it(`finds ${JSON.stringify(expected)} for ${name}`, () => {
      JSON.parse(json) // every case is valid JSON, as it is when the validator calls this
      expect(findRepeatedKeys(json)).to.deep.equal(expected)
    })
  }

  it('copes with deep nesting without recursion', () => {
    const json = '['.repeat(200_000) + '{"a":1,"a":2}' + ']'.repeat(200_000)
    expect(findRepeatedKeys(json)).to.have.length(1)
  })
})

describe('repeatedFieldsError()', () => {
  it('is null without repeats', () => {
    expect(repeatedFieldsError('{"a":1}', 1)).to.equal(null)
  })

  it('is invalid_config naming every repeated field, with one detail each', () => {
    const err = repeatedFieldsError('{"port":1,"port":2,"metadata":[{"key":"a","key":"b"}]}', 2)
    expect(err?.code).to.equal('invalid_config')
    expect(err?.status).to.equal(400)
    expect(err?.message).to.equal('the config line (line 2) is invalid: field "port" is repeated; field "metadata[0].key" is repeated')
    expect(err?.details).to.deep.equal([
      { line: 2, reason: 'field "port" is repeated' },
      { line: 2, reason: 'field "metadata[0].key" is repeated' }
    ])
  })
})
