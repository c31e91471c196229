// Issue 18 item 8: a host-name allow-list entry vouched for any address. With
// `*.probe.test` allowed, a name in it that resolved to 127.0.0.2 was sent to, while
// `127.0.0.2` itself was refused: the README's "DNS rebinding cannot get through" held only
// for the metadata ranges. DESIGN §4b now: names vouch for names, addresses need their own
// warrant — under an allow-list, a resolved address is used only if it is public or an
// IP/CIDR entry allows it.
// Refs: issue 18 item 8
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { results, startChronos, type Chronos } from '../helpers/chronos.js'
import { startTarget, type Target } from '../helpers/target.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'
import type { LookupFunction } from '../../lib/delivery/guarded-connector.js'

/** x.probe.test and y.probe.test resolve to loopback, where the target listens. */
const lookup: LookupFunction = (hostname, _options, callback) => {
  setImmediate(() => {
    if (hostname.endsWith('.probe.test')) callback(null, [{ address: '127.0.0.1', family: 4 }])
    else callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), [])
  })
}

describe('issue 18 item 8: an allowed name does not vouch for a loopback address', function () {
  this.timeout(20_000)
  let chronos: Chronos | undefined
  let target: Target

  beforeEach(async function () {
    chronos = undefined
    target = await startTarget()
  })

  afterEach(async function () {
    await chronos?.cleanup()
    await target.close()
  })

  async function send (allowed: string): Promise<{ jobId: string, status: Record<string, any> }> {
    chronos = await startChronos({ CHRONOS_ALLOWED_TARGETS: allowed }, undefined, { lookup })
    const answer = await chronos.upload(buildUpload(target.port, makeRecords(3), { host: 'x.probe.test', max_attempts: 3 }))
    expect(answer.status, `the name passes the upload check: ${answer.text}`).to.equal(202)
    const jobId: string = answer.json.job_id
    return { jobId, status: await chronos.waitForState(jobId) }
  }

  it('fails every record with target_forbidden under "*.probe.test:<port>", and the target receives nothing', async function () {
    const { jobId, status } = await send(`*.probe.test:${target.port}`)
    expect(status).to.include({ state: 'completed', count: 3, succeeded: 0, failed: 3, retries: 0 })
    expect(status.errors).to.deep.equal({ target_forbidden: 3 })
    for (const line of await results(chronos as Chronos, jobId)) {
      expect(line).to.include({ ok: false, status: null, error: 'target_forbidden', attempts: 1 })
    }
    await sleep(200)
    expect(target.requests).to.have.length(0)
  })

  it('delivers when an IP entry warrants the address: "*.probe.test,127.0.0.1"', async function () {
    const { status } = await send(`*.probe.test:${target.port},127.0.0.1`)
    expect(status).to.include({ state: 'completed', count: 3, succeeded: 3 })
    expect(target.requests).to.have.length(3)
    expect(target.requests[0]?.headers.host).to.equal(`x.probe.test:${target.port}`)
  })
})
