// Issue 18 item 12: a 401 answer did not say how to authenticate. RFC 9110 §11.6.1 requires
// a 401 to carry WWW-Authenticate; Chronos wants a bearer key, so it now sends
// `WWW-Authenticate: Bearer realm="chronos"` with every 401, and only with 401s.
//
// Refs: issue 18 item 12
import { expect } from 'chai'
import { expectError, startChronos, type Chronos } from '../helpers/chronos.js'

describe('issue 18: 401 carries WWW-Authenticate', function () {
  let chronos: Chronos

  before(async function () {
    chronos = await startChronos({ CHRONOS_API_KEYS: 'key-one' })
  })

  after(async function () {
    await chronos.cleanup()
  })

  it('sends WWW-Authenticate: Bearer without an Authorization header', async function () {
    const answer = await chronos.get('/info')
    expectError(answer, 401, 'unauthorized')
    expect(answer.headers.get('www-authenticate')).to.equal('Bearer realm="chronos"')
  })

  it('sends WWW-Authenticate: Bearer with an unknown key', async function () {
    const answer = await chronos.get('/jobs', { authorization: 'Bearer nope' })
    expectError(answer, 401, 'unauthorized')
    expect(answer.headers.get('www-authenticate')).to.equal('Bearer realm="chronos"')
  })

  it('sends no WWW-Authenticate with a good key', async function () {
    const answer = await chronos.get('/info', { authorization: 'Bearer key-one' })
    expect(answer.status).to.equal(200)
    expect(answer.headers.get('www-authenticate')).to.equal(null)
  })
})
