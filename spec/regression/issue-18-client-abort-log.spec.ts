// Issue 18 item 12: a client that went away mid-upload (socket destroyed, or cut off by the
// idle timeout) was logged at `error` with a stack trace ("request failed"), as if Chronos
// had broken. Nothing broke and there is nobody to answer: it is now one `info` line,
// "client went away", with code client_aborted, the Node error code and no stack.
//
// Refs: issue 18 item 12
import { request as httpRequest, type ClientRequest } from 'node:http'
import { expect } from 'chai'
import { startChronos, type Chronos } from '../helpers/chronos.js'
import { eventually } from '../helpers/ledger.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'
import { startTarget, type Target } from '../helpers/target.js'

const ERROR_LEVEL = 50
const INFO_LEVEL = 30

describe('issue 18: a client gone mid-upload is logged at info', function () {
  this.timeout(20_000)
  let target: Target
  let chronos: Chronos

  beforeEach(async function () {
    target = await startTarget()
    chronos = await startChronos({ CHRONOS_UPLOAD_IDLE_TIMEOUT_MS: '300' })
  })

  afterEach(async function () {
    await chronos.cleanup()
    await target.close()
  })

  function openUpload (): ClientRequest {
    const req = httpRequest(`${chronos.url}/run`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } })
    req.on('error', () => {})
    return req
  }

  async function expectOneInfoLine (): Promise<void> {
    const find = (): Record<string, unknown> | undefined => chronos.logs.find((entry) => entry.msg === 'client went away')
    await eventually(async () => {
      expect(find(), JSON.stringify(chronos.logs.filter((entry) => (entry.level as number) >= 40))).to.not.equal(undefined)
    })
    const line = find() as Record<string, unknown>
    expect(line.level).to.equal(INFO_LEVEL)
    expect(line.code).to.equal('client_aborted')
    expect(line).to.not.have.property('err')
    expect(JSON.stringify(line)).to.not.include('    at ')
    expect(chronos.logs.filter((entry) => (entry.level as number) >= ERROR_LEVEL)).to.deep.equal([])
    const access = chronos.logs.find((entry) => entry.msg === 'request completed' && entry.path === '/run')
    expect(access?.status).to.equal(499)
  }

  it('logs a socket destroyed half-way through a record', async function () {
    const req = openUpload()
    req.write(buildUpload(target.port, makeRecords(200)) + '{"id":201,"payload":"hal')
    await eventually(async () => expect((await chronos.spoolFiles()).length).to.equal(1))
    req.destroy()
    await expectOneInfoLine()
  })

  it('logs a client cut off by the idle timeout', async function () {
    const req = openUpload()
    req.write(buildUpload(target.port, makeRecords(20)))
    // Send nothing more: the 300 ms idle timeout cuts the upload off.
    await expectOneInfoLine()
    req.destroy()
  })
})
