// POST /run?dry_run=true (DESIGN §8, issue 13): the upload is validated exactly like a real
// one, the target is resolved and connected to once, and nothing is spooled, registered or
// sent. Every case checks that no key, spool file or target request was added.
import { createServer } from 'node:net'
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { expect } from 'chai'
import { expectError, expectNothingAdded, startChronos, type Chronos, type HttpAnswer } from '../helpers/chronos.js'
import { startTarget, type Target } from '../helpers/target.js'
import { buildUpload, makeRecords, specLine } from '../helpers/ndjson.js'

const NDJSON = { 'content-type': 'application/x-ndjson' }

/** A loopback port nothing listens on (bound, then released). */
async function closedPort (): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  server.close()
  await once(server, 'close')
  return port
}

describe('POST /run?dry_run=true', function () {
  let chronos: Chronos
  let target: Target

  before(async function () {
    target = await startTarget()
    chronos = await startChronos()
  })

  after(async function () {
    await chronos.cleanup()
    await target.close()
  })

  async function dryRun (body: string): Promise<HttpAnswer> {
    let answer: HttpAnswer | undefined
    await expectNothingAdded(chronos, [target], async () => {
      answer = await chronos.post('/run?dry_run=true', body, NDJSON)
    })
    return answer as HttpAnswer
  }

  it('answers 200 with the report for a valid upload to a live target, and sends nothing', async function () {
    const body = buildUpload(target.port, makeRecords(25), { primarykey: 'dry-ok' })
    const answer = await dryRun(body)
    expect(answer.status, answer.text).to.equal(200)
    expect(answer.json).to.deep.include({ dry_run: true, primarykey: 'dry-ok', records: 25 })
    const probe = answer.json.target
    expect(probe).to.deep.include({ url: `http://127.0.0.1:${target.port}`, addresses: ['127.0.0.1'], reachable: true, error: null })
    expect(probe.connect_ms).to.be.a('number').within(0, 5000)
  })

  it('answers an invalid upload exactly as a real run does', async function () {
    const body = [specLine(target.port), '{"id":1,"payload":"{}"}', '{"id":2}', 'not json', '{"id":3,"payload":"{}"}'].join('\n') + '\n'
    const dry = await dryRun(body)
    let real: HttpAnswer | undefined
    await expectNothingAdded(chronos, [target], async () => { real = await chronos.upload(body) })
    expectError(dry, 400, 'invalid_record')
    expect(dry.json).to.deep.equal(real?.json)
    expect(dry.json.error.details.map((detail: { line: number }) => detail.line)).to.deep.equal([3, 4])

    const badConfig = buildUpload(target.port, makeRecords(1), { concurency: 4 })
    const dryConfig = await dryRun(badConfig)
    expectError(dryConfig, 400, 'invalid_config')
    expect(dryConfig.json).to.deep.equal((await chronos.upload(badConfig)).json)
  })

  it('answers 403 target_forbidden for a forbidden target', async function () {
    const answer = await dryRun(buildUpload(80, makeRecords(2), { host: '169.254.169.254' }))
    expectError(answer, 403, 'target_forbidden')
  })

  it('reports an unreachable port: reachable false, connect_error', async function () {
    const port = await closedPort()
    const answer = await dryRun(buildUpload(port, makeRecords(3)))
    expect(answer.status, answer.text).to.equal(200)
    expect(answer.json.target).to.deep.equal({
      url: `http://127.0.0.1:${port}`, addresses: ['127.0.0.1'], reachable: false, connect_ms: null, error: 'connect_error'
    })
  })

  it('reports TLS to a plain-HTTP port: reachable false, tls_error', async function () {
    const answer = await dryRun(buildUpload(target.port, makeRecords(3), { protocol: 'https' }))
    expect(answer.status, answer.text).to.equal(200)
    expect(answer.json.target).to.deep.include({ url: `https://127.0.0.1:${target.port}`, reachable: false, error: 'tls_error' })
  })

  it('resolves a name and lists its addresses', async function () {
    const answer = await dryRun(buildUpload(target.port, makeRecords(1), { host: 'localhost' }))
    expect(answer.status, answer.text).to.equal(200)
    expect(answer.json.target.url).to.equal(`http://localhost:${target.port}`)
    expect(answer.json.target.addresses).to.include.members(['127.0.0.1'])
  })

  it('answers 409 job_conflict while a job of the primarykey is live, like a real run', async function () {
    const slow = await startTarget(() => ({ delayMs: 3000 }))
    try {
      const body = buildUpload(slow.port, makeRecords(2), { primarykey: 'dry-live' })
      const real = await chronos.upload(body)
      expect(real.status).to.equal(202)
      await slow.waitForRequests(1) // the real job's files are written by now
      const answer = await dryRun(body)
      expectError(answer, 409, 'job_conflict')
      expect(answer.json.error.job_id).to.equal(real.json.job_id)
      await chronos.del(`/jobs/${real.json.job_id as string}`)
      await chronos.waitForState(real.json.job_id)
    } finally {
      await slow.close()
    }
  })
})

describe('POST /run?dry_run=true under an allow-list', function () {
  let chronos: Chronos
  let target: Target

  before(async function () {
    target = await startTarget()
    chronos = await startChronos({ CHRONOS_ALLOWED_TARGETS: 'localhost' })
  })

  after(async function () {
    await chronos.cleanup()
    await target.close()
  })

  it('reports target_forbidden when the allowed name resolves to an address the policy refuses', async function () {
    let answer: HttpAnswer | undefined
    await expectNothingAdded(chronos, [target], async () => {
      answer = await chronos.post('/run?dry_run=true', buildUpload(target.port, makeRecords(1), { host: 'localhost' }), NDJSON)
    })
    expect(answer?.status, answer?.text).to.equal(200)
    expect(answer?.json.target).to.deep.include({ reachable: false, connect_ms: null, error: 'target_forbidden' })
  })
})
