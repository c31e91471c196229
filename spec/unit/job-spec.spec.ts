// parseJobSpec(): every field rule of DESIGN §1, line 1 of an upload.
import { expect } from 'chai'
import {
  normaliseHost, parseJobSpec, specToWire, targetOrigin, type JobSpec, type JobSpecLimits
} from '../../lib/domain/job-spec.js'

/** Line 1 of ../shared/fixtures/seed-example.ndjson, byte for byte. */
const SEED_LINE = '{"primarykey":"batch-001","protocol":"https","host":"api.example.com","port":"443","path":"/webhooks/process","metadata":[{"key":"tenant_id","value":"tenant-123"},{"key":"env","value":"production"}]}'

const LIMITS: JobSpecLimits = { defaultConcurrency: 4, maxConcurrency: 256, defaultTimeoutMs: 30_000, defaultMaxAttempts: 3 }

const BASE = { primarykey: 'batch-001', protocol: 'https', host: 'api.example.com', port: 443, path: '/hook' }

function accept (fields: Record<string, unknown>, limits = LIMITS): JobSpec {
  const result = parseJobSpec(fields, limits)
  if (!result.ok) expect.fail(`expected the spec to pass, got problems: ${result.problems.join('; ')}`)
  return result.spec
}

function refuse (fields: unknown, limits = LIMITS): string[] {
  const result = parseJobSpec(fields, limits)
  if (result.ok) expect.fail(`expected the spec to be refused, got ${JSON.stringify(result.spec)}`)
  return result.problems
}

/** Refused with exactly one problem, and that problem is about `field`. */
function refuseOne (fields: Record<string, unknown>, field: string, limits = LIMITS): void {
  const problems = refuse(fields, limits)
  expect(problems, problems.join('; ')).to.have.lengthOf(1)
  expect(problems[0]).to.include(field)
}

const label = (value: unknown): string => value === undefined ? 'undefined' : JSON.stringify(value)

function without (field: string): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...BASE }
  delete copy[field]
  return copy
}

describe('parseJobSpec()', () => {
  describe('the seed example line', () => {
    it('parses, with port "443" given as a string', () => {
      const spec = accept(JSON.parse(SEED_LINE) as Record<string, unknown>)
      expect(spec).to.deep.equal({
        primaryKey: 'batch-001',
        protocol: 'https',
        host: 'api.example.com',
        port: 443,
        path: '/webhooks/process',
        metadata: [{ key: 'tenant_id', value: 'tenant-123' }, { key: 'env', value: 'production' }],
        method: 'POST',
        concurrency: 4,
        adaptiveConcurrency: false,
        rateLimit: null,
        rateBurst: null,
        timeoutMs: 30_000,
        maxAttempts: 3,
        callbackUrl: null
      })
    })
  })

  describe('defaults', () => {
    it('takes concurrency, timeout and attempts from the limits', () => {
      const spec = accept(BASE, { defaultConcurrency: 9, maxConcurrency: 50, defaultTimeoutMs: 1234, defaultMaxAttempts: 5 })
      expect(spec.concurrency).to.equal(9)
      expect(spec.timeoutMs).to.equal(1234)
      expect(spec.maxAttempts).to.equal(5)
    })

    it('defaults method to POST, metadata to none, rate_limit and callback_url to null', () => {
      const spec = accept(BASE)
      expect(spec.method).to.equal('POST')
      expect(spec.metadata).to.deep.equal([])
      expect(spec.rateLimit).to.equal(null)
      expect(spec.callbackUrl).to.equal(null)
    })

    it('treats null metadata, method, rate_limit and callback_url as absent', () => {
      const spec = accept({ ...BASE, metadata: null, method: null, rate_limit: null, callback_url: null })
      expect(spec.metadata).to.deep.equal([])
      expect(spec.method).to.equal('POST')
      expect(spec.rateLimit).to.equal(null)
      expect(spec.callbackUrl).to.equal(null)
    })
  })

  describe('line 1 itself', () => {
    for (const value of [null, [], [BASE], 'batch-001', 42, true, undefined]) {
      it(`refuses ${label(value)} as not an object`, () => {
        expect(refuse(value)).to.have.lengthOf(1)
      })
    }
  })

  describe('required fields', () => {
    for (const field of ['primarykey', 'protocol', 'host', 'port', 'path']) {
      it(`refuses a spec without "${field}"`, () => {
        refuseOne(without(field), field)
      })
    }

    it('refuses an empty object with one problem per required field', () => {
      const problems = refuse({})
      expect(problems).to.have.lengthOf(5)
      for (const field of ['primarykey', 'protocol', 'host', 'port', 'path']) {
        expect(problems.some((problem) => problem.includes(field)), field).to.equal(true)
      }
    })
  })

  describe('"primarykey"', () => {
    const good = ['a', 'batch-001', 'A.b_c:d-9', 'x'.repeat(200), '2026-01-21T10:30:00']
    for (const value of good) {
      it(`accepts ${label(value.length > 20 ? `${value.length} characters` : value)}`, () => {
        expect(accept({ ...BASE, primarykey: value }).primaryKey).to.equal(value)
      })
    }
    const bad: unknown[] = ['', 'x'.repeat(201), 'has space', 'slash/x', 'brace{x}', 'star*', 'umlaut-ä', 'tab\t', 'new\nline', 123, null, ['a']]
    for (const value of bad) {
      it(`refuses ${typeof value === 'string' && value.length > 20 ? `${value.length} characters` : label(value)}`, () => {
        refuseOne({ ...BASE, primarykey: value }, 'primarykey')
      })
    }
  })

  describe('"protocol"', () => {
    for (const value of ['http', 'https']) {
      it(`accepts ${value}`, () => {
        expect(accept({ ...BASE, protocol: value }).protocol).to.equal(value)
      })
    }
    for (const value of ['ftp', 'ws', 'HTTPS', 'https:', '', null, 1]) {
      it(`refuses ${label(value)}`, () => {
        refuseOne({ ...BASE, protocol: value }, 'protocol')
      })
    }
  })

  describe('"host"', () => {
    const good: Array<[string, string]> = [
      ['api.example.com', 'api.example.com'],
      ['API.Example.COM', 'api.example.com'],
      ['localhost', 'localhost'],
      ['_srv.example.com', '_srv.example.com'],
      ['xn--bcher-kva.example', 'xn--bcher-kva.example'],
      ['a'.repeat(63) + '.example', 'a'.repeat(63) + '.example'],
      ['10.1.2.3', '10.1.2.3'],
      ['127.0.0.1', '127.0.0.1'],
      ['::1', '::1'],
      ['[::1]', '::1'],
      ['2001:DB8::1', '2001:db8::1'],
      ['[2001:db8:0:0:0:0:0:1]', '2001:db8::1'],
      ['::ffff:127.0.0.1', '::ffff:7f00:1'],
      // WHATWG URL forms that still reach 127.0.0.1: normalised to the address really used.
      ['2130706433', '127.0.0.1'],
      ['0x7f.1', '127.0.0.1'],
      ['0x7f000001', '127.0.0.1'],
      ['017700000001', '127.0.0.1'],
      ['127.1', '127.0.0.1']
    ]
    for (const [value, normalised] of good) {
      it(`accepts ${label(value.length > 30 ? `${value.length}-character name` : value)} as ${normalised.length > 30 ? 'itself' : normalised}`, () => {
        expect(accept({ ...BASE, host: value }).host).to.equal(normalised)
      })
    }

    const bad: Array<[string, unknown]> = [
      ['a scheme', 'https://api.example.com'],
      ['a scheme without slashes', 'https:api.example.com'],
      ['a port', 'api.example.com:443'],
      ['a path', 'api.example.com/hook'],
      ['a query', 'api.example.com?x=1'],
      ['a fragment', 'api.example.com#x'],
      ['user-info', 'user:pass@api.example.com'],
      ['user-info without a password', 'user@api.example.com'],
      ['a space inside', 'api example.com'],
      ['a leading space', ' api.example.com'],
      ['a trailing space', 'api.example.com '],
      ['a tab', 'api.example.com\t'],
      ['a backslash', 'api.example.com\\x'],
      ['a percent sign', 'api%2eexample.com'],
      ['a non-ASCII name', 'bücher.example'],
      ['an empty label', 'api..example.com'],
      ['only a dot', '.'],
      ['a label starting with a hyphen', '-api.example.com'],
      ['a label ending with a hyphen', 'api-.example.com'],
      ['a 64-character label', 'a'.repeat(64) + '.example'],
      ['more than 253 characters', Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.')],
      ['an IPv4 octet above 255', '256.1.1.1'],
      ['five IPv4 parts', '1.2.3.4.5'],
      ['a numeric last label', 'example.123'],
      ['a bracketed IPv4 literal', '[127.0.0.1]'],
      ['an IPv6 literal with a port', '[::1]:8080'],
      ['an IPv6 literal missing its closing bracket', '[::1'],
      ['an IPv6 literal missing its opening bracket', '::1]'],
      ['empty brackets', '[]'],
      ['an invalid IPv6 literal', '[1:2:3]'],
      ['the empty string', ''],
      ['a number', 127],
      ['null', null],
      ['an array', ['api.example.com']]
    ]
    for (const [what, value] of bad) {
      it(`refuses a host with ${what}`, () => {
        refuseOne({ ...BASE, host: value }, 'host')
      })
    }

    // An IPv6 zone id passes net.isIP() but not the WHATWG URL parser; parseJobSpec() must
    // report it as a problem (invalid_config), not throw a TypeError (a 500 at POST /run).
    for (const value of ['fe80::1%eth0', '[fe80::1%eth0]', 'fe80::1%25eth0']) {
      it(`refuses the IPv6 literal with a zone id ${label(value)} without throwing`, () => {
        let problems: string[] = []
        expect(() => { problems = refuse({ ...BASE, host: value }) }).not.to.throw()
        expect(problems).to.have.lengthOf(1)
        expect(problems[0]).to.include('host')
      })
    }
  })

  describe('"port"', () => {
    const good: Array<[unknown, number]> = [[1, 1], [80, 80], [65535, 65535], ['443', 443], ['1', 1], ['65535', 65535], ['0443', 443]]
    for (const [value, port] of good) {
      it(`accepts ${label(value)} as ${port}`, () => {
        expect(accept({ ...BASE, port: value }).port).to.equal(port)
      })
    }
    const bad: unknown[] = [0, 65536, -1, 1.5, '12a', '0', '65536', '', ' 443', '443 ', '-1', '1.5', '1e3', '0x1bb',
      Number.NaN, Number.POSITIVE_INFINITY, null, true, [443], { port: 443 }]
    for (const value of bad) {
      it(`refuses ${Number.isNaN(value) ? 'NaN' : value === Number.POSITIVE_INFINITY ? 'Infinity' : label(value)}`, () => {
        refuseOne({ ...BASE, port: value }, 'port')
      })
    }
  })

  describe('"path"', () => {
    const good = ['/', '/webhooks/process', '/search?q=1&r=two', '/a/b/../c', '/%20encoded', '/' + 'p'.repeat(8191),
      '/caf%C3%A9', "/all/!$&'()*+,;=:@-._~%5B?x=[1]&y={2}|\\^`\"<>"]
    for (const value of good) {
      it(`accepts ${value.length > 40 ? `a ${value.length}-character path` : label(value)}`, () => {
        expect(accept({ ...BASE, path: value }).path).to.equal(value)
      })
    }
    // Issue 18 item 11: non-ASCII went out as raw bytes, a fragment inside the request line.
    const bad: unknown[] = ['', 'webhooks', 'http://x/y', '?q=1', '/has space', '/tab\tx', '/new\nline', '/cr\rx', '/nul\0x',
      '/' + 'p'.repeat(8192), 1, null, ['/'], '/é', '/caf\u00e9', '/€', '/😀', '/a#frag', '/a?q=1#frag', '/#', '/del\x7f',
      '/ctl\x01', '/nbsp\u00a0', '/lone\ud800']
    for (const value of bad) {
      it(`refuses ${typeof value === 'string' && value.length > 40 ? `a ${value.length}-character path` : label(value)}`, () => {
        refuseOne({ ...BASE, path: value }, 'path')
      })
    }
  })

  describe('"metadata"', () => {
    it('keeps entries in order, with their case', () => {
      const metadata = [{ key: 'X-Tenant', value: 't-1' }, { key: 'authorization', value: 'Bearer abc' }]
      expect(accept({ ...BASE, metadata }).metadata).to.deep.equal(metadata)
    })

    it('accepts SP, HTAB and Latin-1 obs-text in a value', () => {
      const metadata = [{ key: 'x-a', value: ' a\tb é ~ ' }]
      expect(accept({ ...BASE, metadata }).metadata).to.deep.equal(metadata)
    })

    it('accepts an empty array and an empty value', () => {
      expect(accept({ ...BASE, metadata: [] }).metadata).to.deep.equal([])
      expect(accept({ ...BASE, metadata: [{ key: 'x-empty', value: '' }] }).metadata).to.deep.equal([{ key: 'x-empty', value: '' }])
    })

    it('accepts every RFC 9110 token character in a name', () => {
      const key = "!#$%&'*+-.^_`|~09AZaz"
      expect(accept({ ...BASE, metadata: [{ key, value: 'v' }] }).metadata[0]?.key).to.equal(key)
    })

    it('drops fields of an entry other than key and value', () => {
      expect(accept({ ...BASE, metadata: [{ key: 'x-a', value: 'b', extra: 1 }] }).metadata).to.deep.equal([{ key: 'x-a', value: 'b' }])
    })

    for (const value of [{}, 'x-a: b', { key: 'x-a', value: 'b' }, 1, true]) {
      it(`refuses ${label(value)} as not an array`, () => {
        refuseOne({ ...BASE, metadata: value }, 'metadata')
      })
    }

    const badEntries: Array<[string, unknown]> = [
      ['a non-object entry', 'x-a'],
      ['a null entry', null],
      ['an array entry', ['x-a', 'b']],
      ['a numeric key', { key: 1, value: 'b' }],
      ['a missing key', { value: 'b' }],
      ['a numeric value', { key: 'x-a', value: 1 }],
      ['a null value', { key: 'x-a', value: null }],
      ['a missing value', { key: 'x-a' }],
      ['an empty key', { key: '', value: 'b' }],
      ['a key with a space', { key: 'x a', value: 'b' }],
      ['a key with a colon', { key: 'x-a:', value: 'b' }],
      ['a key with a slash', { key: 'x/a', value: 'b' }],
      ['a key with parentheses', { key: 'x(a)', value: 'b' }],
      ['a key with a non-ASCII character', { key: 'x-ä', value: 'b' }],
      ['a key with a newline', { key: 'x-a\n', value: 'b' }],
      ['a value with CR', { key: 'x-a', value: 'b\rc' }],
      ['a value with LF', { key: 'x-a', value: 'b\nInjected: yes' }],
      ['a value with CRLF', { key: 'x-a', value: 'b\r\nInjected: yes' }],
      ['a value with NUL', { key: 'x-a', value: 'b\0c' }],
      // RFC 9110 field-value: VCHAR, obs-text (0x80-0xFF), SP and HTAB only. undici refuses
      // anything else (UND_ERR_INVALID_ARG), so such a job would be accepted and then fail
      // every record with request_error.
      ['a value with another control character', { key: 'x-a', value: 'b\u0001c' }],
      ['a value with ESC', { key: 'x-a', value: '\u001b[31m' }],
      ['a value with DEL', { key: 'x-a', value: 'b\u007fc' }],
      ['a value with a character above U+00FF', { key: 'x-a', value: '5 €' }],
      ['a value with an emoji', { key: 'x-a', value: '😀' }]
    ]
    for (const [what, entry] of badEntries) {
      it(`refuses ${what}`, () => {
        refuseOne({ ...BASE, metadata: [{ key: 'x-ok', value: 'fine' }, entry] }, 'metadata[1]')
      })
    }

    const refusedNames = [
      'host', 'content-length', 'transfer-encoding', 'connection', 'keep-alive', 'upgrade', 'expect', 'te', 'trailer',
      'proxy-authorization', 'proxy-authenticate', 'proxy-connection', 'proxy-anything',
      'content-type', 'user-agent', 'idempotency-key', 'x-chronos-job-id', 'x-chronos-record-id'
    ]
    for (const name of refusedNames) {
      const shouty = name.toUpperCase()
      const title = name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase())
      for (const key of [name, shouty, title]) {
        it(`refuses a metadata header named ${key}`, () => {
          refuseOne({ ...BASE, metadata: [{ key, value: 'v' }] }, 'metadata[0]')
        })
      }
    }

    it('accepts names that only start like a refused one', () => {
      const metadata = ['hostname', 'x-host', 'connection-id', 'tea', 'x-chronos-tenant', 'proxy', 'x-proxy-id']
        .map((key) => ({ key, value: 'v' }))
      expect(accept({ ...BASE, metadata }).metadata).to.have.lengthOf(metadata.length)
    })

    const duplicates: Array<[string, string]> = [['x-tenant', 'x-tenant'], ['X-Tenant', 'x-tenant'], ['x-tenant', 'X-TENANT']]
    for (const [first, second] of duplicates) {
      it(`refuses ${second} after ${first} as a repeated name`, () => {
        refuseOne({ ...BASE, metadata: [{ key: first, value: '1' }, { key: second, value: '2' }] }, 'metadata[1]')
      })
    }

    it('reports every repetition of a name', () => {
      const metadata = [{ key: 'a', value: '1' }, { key: 'A', value: '2' }, { key: 'a', value: '3' }]
      expect(refuse({ ...BASE, metadata })).to.have.lengthOf(2)
    })

    it('accepts 64 entries', () => {
      const metadata = Array.from({ length: 64 }, (_, i) => ({ key: `x-h${i}`, value: 'v' }))
      expect(accept({ ...BASE, metadata }).metadata).to.have.lengthOf(64)
    })

    it('refuses 65 entries', () => {
      const metadata = Array.from({ length: 65 }, (_, i) => ({ key: `x-h${i}`, value: 'v' }))
      refuseOne({ ...BASE, metadata }, 'metadata')
    })

    it('refuses more than 16 KiB of names and values', () => {
      const metadata = Array.from({ length: 2 }, (_, i) => ({ key: `x-big${i}`, value: 'v'.repeat(8 * 1024) }))
      refuseOne({ ...BASE, metadata }, 'metadata')
    })

    it('accepts exactly 16 KiB of names and values', () => {
      const key = 'x-big'
      const metadata = [{ key, value: 'v'.repeat(16 * 1024 - key.length) }]
      expect(accept({ ...BASE, metadata }).metadata).to.have.lengthOf(1)
    })
  })

  describe('"method"', () => {
    for (const value of ['POST', 'PUT', 'PATCH']) {
      it(`accepts ${value}`, () => {
        expect(accept({ ...BASE, method: value }).method).to.equal(value)
      })
    }
    for (const value of ['GET', 'DELETE', 'HEAD', 'OPTIONS', 'CONNECT', 'post', '', 1]) {
      it(`refuses ${label(value)}`, () => {
        refuseOne({ ...BASE, method: value }, 'method')
      })
    }
  })

  describe('"concurrency"', () => {
    for (const value of [1, 64, 256]) {
      it(`accepts ${value} up to the limit`, () => {
        expect(accept({ ...BASE, concurrency: value }).concurrency).to.equal(value)
      })
    }
    it('honours a lower limit', () => {
      const limits = { ...LIMITS, maxConcurrency: 10 }
      refuseOne({ ...BASE, concurrency: 11 }, 'concurrency', limits)
      expect(accept({ ...BASE, concurrency: 10 }, limits).concurrency).to.equal(10)
    })
    for (const value of [0, -1, 257, 1.5, '4', null, true]) {
      it(`refuses ${label(value)}`, () => {
        refuseOne({ ...BASE, concurrency: value }, 'concurrency')
      })
    }
  })

  describe('"rate_limit"', () => {
    for (const value of [1, 50, 1000]) {
      it(`accepts ${value}`, () => {
        expect(accept({ ...BASE, rate_limit: value }).rateLimit).to.equal(value)
      })
    }
    for (const value of [0, -1, 1.5, '10', 1e12, true, [10]]) {
      it(`refuses ${label(value)}`, () => {
        refuseOne({ ...BASE, rate_limit: value }, 'rate_limit')
      })
    }
  })

  describe('"adaptive_concurrency"', () => {
    it('defaults to false (also given as null)', () => {
      expect(accept(BASE).adaptiveConcurrency).to.equal(false)
      expect(accept({ ...BASE, adaptive_concurrency: null }).adaptiveConcurrency).to.equal(false)
    })
    for (const value of [true, false]) {
      it(`accepts ${label(value)}`, () => {
        expect(accept({ ...BASE, adaptive_concurrency: value }).adaptiveConcurrency).to.equal(value)
      })
    }
    for (const value of ['true', 1, 0, {}, [true]]) {
      it(`refuses ${label(value)}`, () => {
        refuseOne({ ...BASE, adaptive_concurrency: value }, 'adaptive_concurrency')
      })
    }
  })

  describe('"rate_burst"', () => {
    it('defaults to 1 beside a rate_limit, and to null without one', () => {
      expect(accept({ ...BASE, rate_limit: 20 }).rateBurst).to.equal(1)
      expect(accept({ ...BASE, rate_limit: 20, rate_burst: null }).rateBurst).to.equal(1)
      expect(accept(BASE).rateBurst).to.equal(null)
    })
    for (const value of [1, 5, 20]) {
      it(`accepts ${value} with rate_limit 20`, () => {
        expect(accept({ ...BASE, rate_limit: 20, rate_burst: value }).rateBurst).to.equal(value)
      })
    }
    for (const value of [0, -1, 21, 1.5, '2', true]) {
      it(`refuses ${label(value)} with rate_limit 20`, () => {
        refuseOne({ ...BASE, rate_limit: 20, rate_burst: value }, 'rate_burst')
      })
    }
    it('refuses a rate_burst without a rate_limit', () => {
      refuseOne({ ...BASE, rate_burst: 2 }, 'rate_burst')
      refuseOne({ ...BASE, rate_limit: null, rate_burst: 2 }, 'rate_burst')
    })
  })

  describe('"timeout_ms"', () => {
    for (const value of [1, 5000, 600_000]) {
      it(`accepts ${value}`, () => {
        expect(accept({ ...BASE, timeout_ms: value }).timeoutMs).to.equal(value)
      })
    }
    for (const value of [0, -1, 600_001, 1.5, '1000', null]) {
      it(`refuses ${label(value)}`, () => {
        refuseOne({ ...BASE, timeout_ms: value }, 'timeout_ms')
      })
    }
  })

  describe('"max_attempts"', () => {
    for (const value of [1, 3, 10]) {
      it(`accepts ${value}`, () => {
        expect(accept({ ...BASE, max_attempts: value }).maxAttempts).to.equal(value)
      })
    }
    for (const value of [0, 11, -1, 2.5, '3', null]) {
      it(`refuses ${label(value)}`, () => {
        refuseOne({ ...BASE, max_attempts: value }, 'max_attempts')
      })
    }
  })

  describe('"callback_url"', () => {
    const good: Array<[string, string]> = [
      ['https://hooks.example.com/done', 'https://hooks.example.com/done'],
      ['http://127.0.0.1:9000/cb?job=1', 'http://127.0.0.1:9000/cb?job=1'],
      ['HTTPS://Hooks.Example.com', 'https://hooks.example.com/']
    ]
    for (const [value, href] of good) {
      it(`accepts ${value} as ${href}`, () => {
        expect(accept({ ...BASE, callback_url: value }).callbackUrl).to.equal(href)
      })
    }
    for (const value of ['ftp://files.example.com/x', 'file:///etc/passwd', 'javascript:alert(1)', 'hooks.example.com/done',
      '/relative', '', 'https://user:pass@hooks.example.com/', 'https://user@hooks.example.com/', 42, true, {}]) {
      it(`refuses ${label(value)}`, () => {
        refuseOne({ ...BASE, callback_url: value }, 'callback_url')
      })
    }
  })

  describe('unknown fields', () => {
    for (const field of ['concurency', 'primaryKey', 'Host', 'headers', 'timeout', '__proto__']) {
      it(`refuses "${field}", naming it`, () => {
        const fields = JSON.parse(JSON.stringify({ ...BASE }).replace(/}$/, `,${JSON.stringify(field)}:1}`)) as Record<string, unknown>
        refuseOne(fields, field)
      })
    }
  })

  describe('with several problems', () => {
    it('reports them all together', () => {
      const problems = refuse({
        primarykey: 'bad key',
        protocol: 'ftp',
        host: 'https://x',
        port: '12a',
        path: 'nope',
        metadata: [{ key: 'Host', value: 'x' }],
        method: 'GET',
        concurrency: 0,
        rate_limit: 0,
        timeout_ms: 0,
        max_attempts: 11,
        callback_url: 'ftp://x',
        concurency: 8
      })
      expect(problems).to.have.lengthOf(13)
      for (const field of ['primarykey', 'protocol', 'host', 'port', 'path', 'metadata[0]', 'method', 'concurrency',
        'rate_limit', 'timeout_ms', 'max_attempts', 'callback_url', 'concurency']) {
        expect(problems.some((problem) => problem.includes(field)), field).to.equal(true)
      }
    })
  })
})

describe('normaliseHost()', () => {
  it('keeps a trailing dot on a name', () => {
    expect(normaliseHost('api.example.com.')).to.equal('api.example.com.')
  })

  it('drops a trailing dot on an IPv4 literal', () => {
    expect(normaliseHost('127.0.0.1.')).to.equal('127.0.0.1')
  })
})

describe('specToWire()', () => {
  it('writes every field under its wire name', () => {
    const spec = accept({
      ...BASE,
      metadata: [{ key: 'x-a', value: 'b' }],
      method: 'PUT',
      concurrency: 8,
      rate_limit: 100,
      timeout_ms: 5000,
      max_attempts: 5,
      callback_url: 'https://hooks.example.com/done'
    })
    expect(specToWire(spec)).to.deep.equal({
      primarykey: 'batch-001',
      protocol: 'https',
      host: 'api.example.com',
      port: 443,
      path: '/hook',
      metadata: [{ key: 'x-a', value: 'b' }],
      method: 'PUT',
      concurrency: 8,
      rate_limit: 100,
      rate_burst: 1,
      timeout_ms: 5000,
      max_attempts: 5,
      callback_url: 'https://hooks.example.com/done'
    })
  })

  it('writes the resolved defaults, so a spool does not depend on later config', () => {
    const wire = specToWire(accept(JSON.parse(SEED_LINE) as Record<string, unknown>))
    expect(JSON.stringify(wire)).to.equal(
      '{"primarykey":"batch-001","protocol":"https","host":"api.example.com","port":443,"path":"/webhooks/process",' +
      '"metadata":[{"key":"tenant_id","value":"tenant-123"},{"key":"env","value":"production"}],' +
      '"method":"POST","concurrency":4,"rate_limit":null,"timeout_ms":30000,"max_attempts":3,"callback_url":null}')
  })

  const roundTrips: Array<[string, Record<string, unknown>]> = [
    ['the seed example', JSON.parse(SEED_LINE) as Record<string, unknown>],
    ['an IPv6 target with every option', {
      ...BASE, host: '[2001:db8::1]', metadata: [{ key: 'a', value: 'b' }], method: 'PATCH', concurrency: 2, adaptive_concurrency: true, rate_limit: 5, rate_burst: 3, timeout_ms: 10, max_attempts: 1, callback_url: 'http://x.example/cb'
    }],
    ['a numeric host form', { ...BASE, host: '0x7f.1' }]
  ]
  for (const [what, fields] of roundTrips) {
    it(`round-trips ${what} through parseJobSpec()`, () => {
      const spec = accept(fields)
      expect(accept(JSON.parse(JSON.stringify(specToWire(spec))) as Record<string, unknown>)).to.deep.equal(spec)
    })
  }
})

describe('targetOrigin()', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ ...BASE }, 'https://api.example.com:443'],
    [{ ...BASE, protocol: 'http', port: '8080' }, 'http://api.example.com:8080'],
    [{ ...BASE, protocol: 'http', host: '127.0.0.1', port: 3000 }, 'http://127.0.0.1:3000'],
    [{ ...BASE, host: '2130706433', port: 80 }, 'https://127.0.0.1:80'],
    [{ ...BASE, protocol: 'http', host: '::1', port: 8080 }, 'http://[::1]:8080'],
    [{ ...BASE, protocol: 'http', host: '[::1]', port: 8080 }, 'http://[::1]:8080'],
    [{ ...BASE, host: '[2001:DB8::1]', port: 8443 }, 'https://[2001:db8::1]:8443']
  ]
  for (const [fields, origin] of cases) {
    it(`builds ${origin} from host ${String(fields.host)}`, () => {
      const built = targetOrigin(accept(fields))
      expect(built).to.equal(origin)
      expect(new URL(built).origin).to.be.a('string')
    })
  }
})
