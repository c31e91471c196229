// Issue 18 item 12: GET /jobs read its numeric query parameters with Number(), so
// `limit=0x10` was taken as 16 (and `1e1`, ` 5`, `+5`, `0b11`, an empty offset were numbers
// too). Only plain decimal digits are numbers now; anything else is 400 invalid_request.
//
// Refs: issue 18 item 12
import { expect } from 'chai'
import { expectError, startChronos, type Chronos } from '../helpers/chronos.js'

describe('issue 18: numeric query parameters are plain decimal digits', function () {
  let chronos: Chronos

  before(async function () {
    chronos = await startChronos()
  })

  after(async function () {
    await chronos.cleanup()
  })

  for (const query of ['limit=0x10', 'limit=1e1', 'limit=%2B5', 'limit=%205', 'limit=0b11', 'limit=5.0', 'offset=0x0', 'offset=', 'offset=1e0', 'limit=5&limit=6']) {
    it(`answers GET /jobs?${query} 400 invalid_request`, async function () {
      expectError(await chronos.get(`/jobs?${query}`), 400, 'invalid_request')
    })
  }

  for (const query of ['limit=16', 'limit=007', 'offset=0', 'limit=100&offset=3']) {
    it(`answers GET /jobs?${query} 200`, async function () {
      expect((await chronos.get(`/jobs?${query}`)).status).to.equal(200)
    })
  }

  for (const query of ['cursor=0x1', 'cursor=1e0', 'cursor=%2B1']) {
    it(`answers GET /jobs/:id/results?${query} 400 invalid_request`, async function () {
      expectError(await chronos.get(`/jobs/job-unknown/results?${query}`), 400, 'invalid_request')
    })
  }
})
