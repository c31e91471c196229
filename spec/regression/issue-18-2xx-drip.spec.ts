// Issue 18 item 10: a 2xx was not a success until its body ended. A target that answered
// 200 and then dripped its body, or never sent it, got the record recorded as `timeout`
// and was sent it again max_attempts times. A 2xx status is the target's answer: it counts
// when it arrives; the body is then drained for a bounded time and size, and the
// connection dropped.
// Refs: issue 18 item 10
import { once } from 'node:events'
import { createServer, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { expect } from 'chai'
import { results, startChronos, type Chronos } from '../helpers/chronos.js'
import { buildUpload, makeRecords } from '../helpers/ndjson.js'

interface DripTarget {
  readonly port: number
  readonly requests: () => number
  close: () => Promise<void>
}

/** Answers every request with `status` and its headers, then `body(res)`; never ends the body. */
async function startDripTarget (body: (res: ServerResponse) => void, status = 200): Promise<DripTarget> {
  let requests = 0
  const sockets = new Set<Socket>()
  const server: Server = createServer((req, res) => {
    requests++
    req.resume()
    req.on('end', () => {
      res.writeHead(status, { 'content-type': 'text/plain', 'content-length': '1000000' })
      res.flushHeaders()
      body(res)
    })
  })
  server.on('connection', (socket: Socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
  })
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  return {
    port: (server.address() as AddressInfo).port,
    requests: () => requests,
    close: async () => {
      for (const socket of sockets) socket.destroy()
      server.close()
      await once(server, 'close')
    }
  }
}

/** One byte a second, for ever. */
function dripOneBytePerSecond (res: ServerResponse): void {
  res.write('x')
  const timer = setInterval(() => res.write('x'), 1000)
  res.on('close', () => clearInterval(timer))
}

describe('issue 18 item 10: a 2xx counts when its status arrives', function () {
  this.timeout(20_000)
  let chronos: Chronos
  let target: DripTarget | undefined

  beforeEach(async function () {
    chronos = await startChronos()
  })

  afterEach(async function () {
    await chronos.cleanup()
    await target?.close()
  })

  const cases: Array<[string, (res: ServerResponse) => void]> = [
    ['drips its body one byte a second, for ever', dripOneBytePerSecond],
    ['never sends a body at all', () => {}]
  ]
  for (const [what, body] of cases) {
    it(`counts a record succeeded at the first attempt when the target answers 200 and ${what}`, async function () {
      target = await startDripTarget(body)
      const startedAt = Date.now()
      const upload = await chronos.upload(buildUpload(target.port, makeRecords(1), { timeout_ms: 1000, max_attempts: 3 }))
      expect(upload.status, upload.text).to.equal(202)
      const jobId: string = upload.json.job_id
      const status = await chronos.waitForState(jobId, undefined, 10_000)
      expect(Date.now() - startedAt, 'the job completes within a few seconds').to.be.below(5000)
      expect(status, JSON.stringify(status)).to.include({ state: 'completed', count: 1, succeeded: 1, failed: 0, retries: 0 })
      expect(status.status_codes).to.deep.equal({ 200: 1 })
      expect(status.errors).to.deep.equal({})
      const [line] = await results(chronos, jobId)
      expect(line).to.include({ ok: true, status: 200, attempts: 1 })
      expect(target.requests(), 'the target sees exactly one request').to.equal(1)
    })
  }

  it('records a failure status whose body drips as http_status with that status, never as timeout', async function () {
    target = await startDripTarget(dripOneBytePerSecond, 503)
    const upload = await chronos.upload(buildUpload(target.port, makeRecords(1), { timeout_ms: 1000, max_attempts: 2 }))
    const jobId: string = upload.json.job_id
    const status = await chronos.waitForState(jobId, undefined, 10_000)
    expect(status, JSON.stringify(status)).to.include({ state: 'completed', count: 1, failed: 1 })
    expect(status.errors).to.deep.equal({ http_status: 1 })
    expect(status.status_codes).to.deep.equal({ 503: 1 })
    const [line] = await results(chronos, jobId)
    expect(line).to.include({ ok: false, status: 503, error: 'http_status', attempts: 2 })
    expect(target.requests()).to.equal(2)
  })
})
