// Issue 18 item 12: not every error was `{"error":{code,message,details}}` JSON. @koa/router's
// allowedMethods() answered 405 and 501 with a text/plain reason phrase, and Node's HTTP
// parser answered malformed requests (which never reach Koa) with a bare
// `400 Bad Request`. Now all of them carry the JSON error shape; 405 keeps its Allow header.
//
// Refs: issue 18 item 12
import { expect } from 'chai'
import { startChronos, type Chronos } from '../helpers/chronos.js'
import { rawExchange, type RawAnswer } from '../helpers/raw-http.js'

function expectJsonError (answer: { status: number, contentType: string | null, body: string }, status: number, code: string): void {
  expect(answer.status, answer.body).to.equal(status)
  expect(answer.contentType, answer.body).to.match(/^application\/json/)
  const parsed = JSON.parse(answer.body) as { error: { code: string, message: string, details: unknown[] } }
  expect(parsed.error.code).to.equal(code)
  expect(parsed.error.message).to.be.a('string')
  expect(parsed.error.message.length).to.be.greaterThan(0)
  expect(parsed.error.details).to.deep.equal([])
}

function fromRaw (answer: RawAnswer): { status: number, contentType: string | null, body: string } {
  return { status: answer.status, contentType: answer.headers['content-type'] ?? null, body: answer.body }
}

describe('issue 18: every error answer is JSON', function () {
  let chronos: Chronos

  before(async function () {
    chronos = await startChronos()
  })

  after(async function () {
    await chronos.cleanup()
  })

  describe('when a route exists but not for the method', function () {
    for (const [method, path, allow] of [['PUT', '/run', 'POST'], ['DELETE', '/info', 'HEAD, GET'], ['POST', '/jobs/job-x', 'HEAD, GET, DELETE']] as const) {
      it(`answers ${method} ${path} 405 method_not_allowed in JSON with Allow: ${allow}`, async function () {
        const response = await fetch(`${chronos.url}${path}`, { method })
        const body = await response.text()
        expectJsonError({ status: response.status, contentType: response.headers.get('content-type'), body }, 405, 'method_not_allowed')
        expect(response.headers.get('allow')).to.equal(allow)
      })
    }

    it('still answers OPTIONS 200 with Allow', async function () {
      const response = await fetch(`${chronos.url}/run`, { method: 'OPTIONS' })
      expect(response.status).to.equal(200)
      expect(response.headers.get('allow')).to.equal('POST')
    })
  })

  describe('when the method is one Chronos does not implement', function () {
    it('answers 501 not_implemented in JSON', async function () {
      const answer = await rawExchange(chronos.url, 'PROPFIND /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n')
      expectJsonError(fromRaw(answer), 501, 'not_implemented')
    })
  })

  describe('when Node\'s HTTP parser refuses the request', function () {
    it('answers a malformed header line 400 invalid_request in JSON and closes', async function () {
      const answer = await rawExchange(chronos.url, 'GET /info HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n')
      expectJsonError(fromRaw(answer), 400, 'invalid_request')
      expect(answer.headers.connection).to.equal('close')
    })

    it('answers an unknown method token 400 invalid_request in JSON', async function () {
      const answer = await rawExchange(chronos.url, 'FROB /info HTTP/1.1\r\nHost: x\r\n\r\n')
      expectJsonError(fromRaw(answer), 400, 'invalid_request')
    })

    it('answers a bad chunked body 400 invalid_request in JSON', async function () {
      const answer = await rawExchange(chronos.url, 'POST /run HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-ndjson\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n')
      expectJsonError(fromRaw(answer), 400, 'invalid_request')
    })

    it('answers oversized headers 431 headers_too_large in JSON', async function () {
      const answer = await rawExchange(chronos.url, `GET /info HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
      expectJsonError(fromRaw(answer), 431, 'headers_too_large')
    })

    it('keeps serving afterwards', async function () {
      expect((await chronos.get('/healthz')).status).to.equal(200)
    })
  })
})
