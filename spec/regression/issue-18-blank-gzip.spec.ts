// Issue 18 item 9: 1 MiB of gzip inflating to 1 GiB of blank lines took 43 s of CPU to
// answer, because every blank line went through the per-line path. Runs of blank lines are
// now skipped at memory speed (under 2 s for 1 GiB measured by hand, see the README), with
// exact line numbers. The generous timeout below is no benchmark: it fails only when blank
// lines cost per line again (43 s and more for the first case).
// Refs: issue 18 item 9
import { gzipSync } from 'node:zlib'
import { expect } from 'chai'
import { expectError, expectNothingLeft, useChronosAndTarget, type Chronos } from '../helpers/chronos.js'
import type { Target } from '../helpers/target.js'
import { specLine } from '../helpers/ndjson.js'

const MIB = 1024 * 1024
const MEMBER_MIB = 64

/**
 * `mib` MiB of `pattern`, gzipped, as concatenated gzip members (gunzip reads them as one
 * stream): one 64 MiB member is compressed once and repeated, so nothing big is held.
 */
function gzippedRun (pattern: string, mib: number): Buffer[] {
  expect(MEMBER_MIB * MIB % pattern.length).to.equal(0)
  const member = gzipSync(Buffer.from(pattern.repeat(MEMBER_MIB * MIB / pattern.length)), { level: 9 })
  return Array.from({ length: mib / MEMBER_MIB }, () => member)
}

describe('issue 18 item 9: gzip bodies of blank lines', function () {
  this.timeout(30_000)
  let chronos: Chronos
  let target: Target
  useChronosAndTarget((started, listening) => { chronos = started; target = listening })

  it('answers a 1 GiB run of "\\n" within the timeout, with the exact line of the record after it', async function () {
    const body = Buffer.concat([
      gzipSync(specLine(target.port) + '\n'),
      ...gzippedRun('\n', 1024),
      gzipSync('{"id":1,"payload":7}\n')
    ])
    expect(body.length).to.be.below(2 * MIB)
    const answer = await chronos.upload(body, { 'content-encoding': 'gzip' })
    expectError(answer, 400, 'invalid_record')
    expect(answer.json.error.details).to.deep.equal([{ line: 1024 * MIB + 2, reason: '"payload" must be a string, an object or an array' }])
    await expectNothingLeft(chronos, target)
  })

  it('accepts a record after 256 MiB of "   \\n" before line 1 and 256 MiB of "\\r\\n" after it', async function () {
    const body = Buffer.concat([
      ...gzippedRun('   \n', 256 - MEMBER_MIB),
      gzipSync('   \n'.repeat(MEMBER_MIB * MIB / 4) + specLine(target.port) + '\n'),
      ...gzippedRun('\r\n', 256),
      gzipSync('{"id":"last","payload":"p"}')
    ])
    const answer = await chronos.upload(body, { 'content-encoding': 'gzip' })
    expect(answer.status, answer.text).to.equal(202)
    expect(answer.json.records).to.equal(1)
    await chronos.waitForState(answer.json.job_id)
    expect(target.requests.map((req) => req.body)).to.deep.equal(['p'])
  })

  it('answers 400 empty_job for a body of 1 GiB of blank lines', async function () {
    const answer = await chronos.upload(Buffer.concat(gzippedRun(' \t\r\n', 1024)), { 'content-encoding': 'gzip' })
    expectError(answer, 400, 'empty_job')
    await expectNothingLeft(chronos, target)
  })
})
