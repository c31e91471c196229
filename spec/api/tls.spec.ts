// TLS as partners run it (DESIGN §8, issue 13): https targets behind a CA made by the test
// (spec/helpers/tls-certs.ts, openssl in a temp dir), trusted through CHRONOS_TLS_CA_FILE and
// refused without it; an mTLS target that refuses a client without a certificate and takes
// one with it, global or per target. A certificate failure is the record's `tls_error`,
// with its cause in the result line's `detail`, after exactly one attempt.
import { expect } from 'chai'
import { results, startChronos, type Chronos } from '../helpers/chronos.js'
import { startTarget, type Target } from '../helpers/target.js'
import { makeTestPki, type TestPki } from '../helpers/tls-certs.js'
import { buildUpload, makeRecords, type SpecFields } from '../helpers/ndjson.js'

const NDJSON = { 'content-type': 'application/x-ndjson' }

describe('TLS to targets (CHRONOS_TLS_*)', function () {
  let pki: TestPki
  let target: Target
  let mtls: Target
  let chronos: Chronos | undefined

  before(async function () {
    pki = makeTestPki()
    target = await startTarget(undefined, { tls: { cert: pki.server.cert, key: pki.server.key } })
    mtls = await startTarget(undefined, {
      tls: { cert: pki.server.cert, key: pki.server.key, ca: pki.ca, requestCert: true, rejectUnauthorized: true }
    })
  })

  after(async function () {
    await target.close()
    await mtls.close()
    pki.remove()
  })

  afterEach(async function () {
    await chronos?.cleanup()
    chronos = undefined
  })

  /** Runs a job of `count` records against `to` over https and waits for its end. */
  async function runJob (to: Target, count: number, fields: SpecFields = {}): Promise<{ jobId: string, status: Record<string, any> }> {
    const answer = await (chronos as Chronos).upload(buildUpload(to.port, makeRecords(count), { protocol: 'https', max_attempts: 3, ...fields }))
    expect(answer.status, answer.text).to.equal(202)
    const jobId = answer.json.job_id as string
    return { jobId, status: await (chronos as Chronos).waitForState(jobId) }
  }

  /** The job ended `completed` with every record failed by tls_error after one attempt, with this cause. */
  async function expectTlsFailures (jobId: string, status: Record<string, any>, count: number, cause: string): Promise<void> {
    expect(status).to.include({ state: 'completed', total: count, count, succeeded: 0, failed: count, retries: 0 })
    expect(status.errors).to.include({ tls_error: count })
    const lines = await results(chronos as Chronos, jobId)
    expect(lines).to.have.length(count)
    for (const line of lines) expect(line).to.deep.include({ ok: false, status: null, attempts: 1, error: 'tls_error', detail: cause })
  }

  describe('a target behind a private CA', function () {
    it('is trusted through CHRONOS_TLS_CA_FILE: every record delivered, by IP and by name', async function () {
      chronos = await startChronos({ CHRONOS_TLS_CA_FILE: pki.caFile })
      const before = target.requests.length
      const { status } = await runJob(target, 20)
      expect(status).to.include({ state: 'completed', succeeded: 20, failed: 0 })
      const byName = await runJob(target, 5, { host: 'localhost' })
      expect(byName.status).to.include({ state: 'completed', succeeded: 5, failed: 0 })
      expect(target.requests.length - before).to.equal(25)
    })

    it('is refused without it: tls_error with its cause, one attempt per record, the job completes', async function () {
      chronos = await startChronos()
      const before = target.requests.length
      const { jobId, status } = await runJob(target, 12)
      await expectTlsFailures(jobId, status, 12, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE')
      expect(target.requests.length).to.equal(before)
    })

    it('is refused when the certificate does not name the host: ERR_TLS_CERT_ALTNAME_INVALID', async function () {
      const elsewhere = await startTarget(undefined, { tls: { cert: pki.otherHostServer.cert, key: pki.otherHostServer.key } })
      try {
        chronos = await startChronos({ CHRONOS_TLS_CA_FILE: pki.caFile })
        const { jobId, status } = await runJob(elsewhere, 3)
        await expectTlsFailures(jobId, status, 3, 'ERR_TLS_CERT_ALTNAME_INVALID')
      } finally {
        await elsewhere.close()
      }
    })

    it('is probed by a dry run with the same trust: reachable with the CA, tls_error without', async function () {
      const body = buildUpload(target.port, makeRecords(2), { protocol: 'https' })
      chronos = await startChronos({ CHRONOS_TLS_CA_FILE: pki.caFile })
      const trusted = await chronos.post('/run?dry_run=true', body, NDJSON)
      expect(trusted.status, trusted.text).to.equal(200)
      expect(trusted.json.target).to.include({ url: `https://127.0.0.1:${target.port}`, reachable: true, error: null })
      await chronos.cleanup()

      chronos = await startChronos()
      const refused = await chronos.post('/run?dry_run=true', body, NDJSON)
      expect(refused.status, refused.text).to.equal(200)
      expect(refused.json.target).to.include({ reachable: false, connect_ms: null, error: 'tls_error' })
    })

    it('takes the completion callback over https with the same trust', async function () {
      const receiver = await startTarget(undefined, { tls: { cert: pki.server.cert, key: pki.server.key } })
      try {
        chronos = await startChronos({ CHRONOS_TLS_CA_FILE: pki.caFile })
        const { jobId } = await runJob(target, 2, { callback_url: `${receiver.url}done` })
        const [delivered] = await receiver.waitForRequests(1, 5000)
        expect(JSON.parse(delivered?.body ?? '')).to.include({ job_id: jobId, state: 'completed', succeeded: 2 })
      } finally {
        await receiver.close()
      }
    })
  })

  describe('a target that demands a client certificate (mTLS)', function () {
    it('refuses a client without one: tls_error, one attempt per record', async function () {
      chronos = await startChronos({ CHRONOS_TLS_CA_FILE: pki.caFile })
      const before = mtls.requests.length
      const { jobId, status } = await runJob(mtls, 6)
      await expectTlsFailures(jobId, status, 6, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')
      expect(mtls.requests.length).to.equal(before)
    })

    it('accepts the certificate of CHRONOS_TLS_CLIENT_CERT and CHRONOS_TLS_CLIENT_KEY', async function () {
      chronos = await startChronos({
        CHRONOS_TLS_CA_FILE: pki.caFile, CHRONOS_TLS_CLIENT_CERT: pki.client.certFile, CHRONOS_TLS_CLIENT_KEY: pki.client.keyFile
      })
      const before = mtls.requests.length
      const { status } = await runJob(mtls, 10)
      expect(status).to.include({ state: 'completed', succeeded: 10, failed: 0 })
      expect(mtls.requests.length - before).to.equal(10)
    })

    it('uses a CHRONOS_TLS_CLIENT_IDENTITIES entry for the targets it names, and only for them', async function () {
      chronos = await startChronos({
        CHRONOS_TLS_CA_FILE: pki.caFile,
        CHRONOS_TLS_CLIENT_IDENTITIES: `localhost:${mtls.port} ${pki.client.certFile} ${pki.client.keyFile}`
      })
      const named = await runJob(mtls, 4, { host: 'localhost' })
      expect(named.status).to.include({ state: 'completed', succeeded: 4, failed: 0 })
      const unnamed = await runJob(mtls, 2)
      await expectTlsFailures(unnamed.jobId, unnamed.status, 2, 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED')
    })
  })
})
