// GET /openapi.json (DESIGN §9, issue 14): the document covers every route of the router, and
// a tour of every operation validates each real answer against it (startChronos() checks
// every answer any API spec receives, spec/helpers/openapi-check.ts; this tour makes sure
// each operation and its usual answers are met at least once).
import { expect } from 'chai'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { createRouter } from '../../lib/http/routes.js'
import { startChronos, type Chronos } from '../helpers/chronos.js'
import { checkAnswer } from '../helpers/openapi-check.js'
import { startTarget, type Target } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'

describe('GET /openapi.json', function () {
  let chronos: Chronos
  let target: Target

  before(async function () {
    target = await startTarget((req) => req.recordId === '2' ? { status: 500 } : undefined)
    chronos = await startChronos()
  })

  after(async function () {
    await chronos.cleanup()
    await target.close()
  })

  it('is an OpenAPI 3.1 document whose schemas compile under draft 2020-12', async function () {
    const answer = await chronos.get('/openapi.json')
    expect(answer.status).to.equal(200)
    expect(answer.json.openapi).to.equal('3.1.0')
    const ajv = new Ajv2020({ strict: false, validateFormats: false })
    ajv.addSchema({ ...answer.json, $id: 'https://x.invalid/o.json' })
    for (const name of Object.keys(answer.json.components.schemas)) {
      expect(() => ajv.compile({ $ref: `https://x.invalid/o.json#/components/schemas/${name}` }), name).to.not.throw()
    }
  })

  it('has a path and operation for every route in the router', async function () {
    const document = (await chronos.get('/openapi.json')).json
    const router = createRouter(chronos.service.deps)
    const missing: string[] = []
    let routes = 0
    for (const layer of router.stack) {
      const path = String(layer.path).replace(/:([A-Za-z_]+)/g, '{$1}')
      for (const method of layer.methods.filter((name) => name !== 'HEAD')) {
        routes++
        if (document.paths[path]?.[method.toLowerCase()] === undefined) missing.push(`${method} ${path}`)
      }
    }
    expect(routes).to.be.greaterThan(15)
    expect(missing).to.deep.equal([])
  })

  it('rejects an undocumented status or a body off its schema (the checker itself works)', function () {
    const json = { error: { code: 'not_found', message: 'x', details: [] } }
    expect(() => checkAnswer('GET', 'http://h/jobs/job-1', { status: 418, contentType: 'application/json', json, text: '' })).to.throw(/not documented/)
    expect(() => checkAnswer('GET', 'http://h/jobs/job-1', { status: 200, contentType: 'application/json', json: { job_id: 'job-1' }, text: '' })).to.throw(/does not match/)
    expect(() => checkAnswer('GET', 'http://h/jobs/job-1', { status: 404, contentType: 'text/plain', json, text: '' })).to.throw(/content type/)
    expect(() => checkAnswer('GET', 'http://h/jobs/job-1', { status: 404, contentType: 'application/json', json, text: '' })).to.not.throw()
  })

  it('describes every answer of a tour of every operation', async function () {
    // Each call goes through startChronos()'s request(), which validates the answer.
    const upload = await chronos.upload(buildUpload(target.port, makeRecords(3)))
    expect(upload.status).to.equal(202)
    const id = upload.json.job_id as string
    await chronos.waitForState(id)
    const calls: Array<[string, string, number]> = [
      ['GET', `/status?key=${id}`, 200], ['GET', '/status', 400], ['GET', '/status?key=nope', 404],
      ['GET', '/info', 200], ['GET', '/jobs?limit=5', 200], ['GET', '/jobs?state=bogus', 400],
      ['GET', `/jobs/${id}`, 200], ['GET', `/jobs/${id}/results`, 200], ['GET', `/jobs/${id}/results?outcome=x`, 400],
      ['GET', `/jobs/${id}/events`, 200], ['GET', `/jobs/${id}/failed-records`, 200], ['POST', `/jobs/${id}/pause`, 409], ['POST', `/jobs/${id}/resume`, 409],
      ['DELETE', `/jobs/${id}`, 409], ['POST', `/jobs/${id}/retry-failed`, 202], ['GET', '/healthz', 200],
      ['GET', '/readyz', 200], ['GET', '/metrics', 200], ['GET', '/openapi.json', 200], ['GET', '/ui/', 200],
      ['GET', '/ui/nothing.js', 404], ['GET', '/nowhere', 404], ['DELETE', '/run', 405]
    ]
    for (const [method, path, status] of calls) {
      const answer = method === 'GET' ? await chronos.get(path) : method === 'DELETE' ? await chronos.del(path) : await chronos.post(path)
      expect(answer.status, `${method} ${path}: ${answer.text.slice(0, 200)}`).to.equal(status)
    }
    const refused = await chronos.upload('{"primarykey":"x"}\n')
    expect(refused.status).to.equal(400)
    const unsupported = await chronos.post('/run', 'x', { 'content-type': 'text/plain' })
    expect(unsupported.status).to.equal(415)
  })
})
