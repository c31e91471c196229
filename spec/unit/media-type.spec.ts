// checkMediaType(): the upload framing of DESIGN §1 and §10 (NDJSON or JSON, gzip or identity).
import { expect } from 'chai'
import { UnsupportedMediaTypeError } from '../../lib/errors.js'
import { checkMediaType } from '../../lib/upload/media-type.js'

function refusal (contentType: string | undefined, contentEncoding: string | undefined): UnsupportedMediaTypeError {
  try {
    checkMediaType(contentType, contentEncoding)
  } catch (err) {
    expect(err).to.be.instanceOf(UnsupportedMediaTypeError)
    const error = err as UnsupportedMediaTypeError
    expect(error.code).to.equal('unsupported_media_type')
    expect(error.status).to.equal(415)
    return error
  }
  expect.fail(`checkMediaType(${JSON.stringify(contentType)}, ${JSON.stringify(contentEncoding)}) did not throw`)
}

describe('checkMediaType()', () => {
  describe('Content-Type', () => {
    const accepted = [
      'application/x-ndjson',
      'application/jsonl',
      'application/x-jsonlines',
      'Application/X-NDJSON',
      'APPLICATION/JSONL',
      ' application/x-ndjson ',
      'application/x-ndjson; charset=utf-8',
      'application/x-ndjson;charset=utf-8',
      'application/x-ndjson; charset=UTF-8',
      'application/x-ndjson; CHARSET=utf-8',
      'application/x-ndjson; charset="utf-8"',
      'application/jsonl; charset=utf-8; foo=bar',
      'application/x-jsonlines; boundary=x',
      'application/x-ndjson;'
    ]
    for (const contentType of accepted) {
      it(`accepts ${JSON.stringify(contentType)}`, () => {
        expect(checkMediaType(contentType, undefined)).to.deep.equal({ format: 'ndjson', isGzip: false })
      })
    }

    for (const contentType of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/json; charset="UTF-8"']) {
      it(`accepts ${JSON.stringify(contentType)} as a JSON upload (DESIGN §10)`, () => {
        expect(checkMediaType(contentType, undefined)).to.deep.equal({ format: 'json', isGzip: false })
      })
    }

    const refused: Array<string | undefined> = [
      undefined,
      '',
      'application/json; charset=latin1',
      'application/json-seq',
      'text/json',
      'application/x-ndjson-seq',
      'application/ndjson-x',
      'text/plain',
      'text/csv',
      'application/octet-stream',
      'multipart/form-data; boundary=x',
      'application/x-www-form-urlencoded',
      'application/x-ndjson; charset=latin1',
      'application/x-ndjson; charset=utf-16',
      'application/x-ndjson; charset=us-ascii',
      'application/x-ndjson; charset=',
      'application/x-ndjson application/jsonl',
      '; application/x-ndjson'
    ]
    for (const contentType of refused) {
      it(`refuses ${JSON.stringify(contentType)} with unsupported_media_type`, () => {
        refusal(contentType, undefined)
      })
    }
  })

  describe('Content-Encoding', () => {
    const accepted: Array<[string | undefined, boolean]> = [
      [undefined, false],
      ['', false],
      ['identity', false],
      ['IDENTITY', false],
      ['gzip', true],
      ['GZIP', true],
      [' gzip ', true],
      ['x-gzip', true]
    ]
    for (const [contentEncoding, isGzip] of accepted) {
      it(`accepts ${JSON.stringify(contentEncoding)} as ${isGzip ? 'gzip' : 'identity'}`, () => {
        expect(checkMediaType('application/x-ndjson', contentEncoding)).to.deep.equal({ format: 'ndjson', isGzip })
      })
    }

    for (const contentEncoding of ['br', 'deflate', 'compress', 'zstd', 'gzip, gzip', 'gzip, br', 'identity, gzip', 'gz']) {
      it(`refuses ${JSON.stringify(contentEncoding)} with unsupported_media_type`, () => {
        refusal('application/x-ndjson', contentEncoding)
      })
    }
  })

  it('refuses a good encoding with a bad type', () => {
    refusal('text/plain', 'gzip')
  })

  it('refuses a bad encoding with a good type', () => {
    refusal('application/jsonl; charset=utf-8', 'br')
  })
})
