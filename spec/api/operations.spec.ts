// Easy to operate (issue 6, DESIGN §3, §5): Prometheus metrics present and moving during a
// job, /readyz checks of Redis and the spool directory, request ids and one access-log line
// per request, payloads never logged, upload hardening (Content-Length over the limit refused
// before the body, slow-loris cut off by the idle timeout while a slow but steady upload
// passes, gzip bombs refused) and /info without secrets.
// Raw sockets send request heads byte for byte; no assertion depends on absolute speed.
import { randomUUID } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { gzipSync } from 'node:zlib'
import { expect } from 'chai'
import { expectError, expectNothingLeft, startChronos, type Chronos, type HttpAnswer } from '../helpers/chronos.js'
import { startTarget, type Target } from '../helpers/target.js'
import { buildUpload, makeRecords, specLine } from '../helpers/ndjson.js'

type LogLine = Record<string, unknown>

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/

/** Polls `check` until it returns true or `timeoutMs` passes; returns its last answer. */
async function eventually (check: () => boolean | Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return true
    if (Date.now() > deadline) return false
    await sleep(25)
  }
}

/** The value of one sample line (`name{labels} value`) of a Prometheus text page, or null. */
function sample (page: string, series: string): number | null {
  for (const line of page.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1).split(' ')[0])
  }
  return null
}

async function scrape (chronos: Chronos): Promise<string> {
  const answer = await chronos.get('/metrics')
  expect(answer.status).to.equal(200)
  return answer.text
}

function accessLines (logs: LogLine[], reqId: string): LogLine[] {
  return logs.filter((entry) => entry.reqId === reqId && 'durationMs' in entry && 'method' in entry)
}

interface RawAnswer { status: number, headers: string, body: string }

/** A raw client socket that collects everything the server sends and notes when it closes. */
function rawSocket (url: string): { socket: Socket, received: () => string, closed: Promise<void>, answer: (timeoutMs?: number) => Promise<RawAnswer> } {
  const { hostname, port } = new URL(url)
  const socket = connect(Number(port), hostname)
  socket.on('error', () => {})
  let data = Buffer.alloc(0)
  socket.on('data', (chunk: Buffer) => { data = Buffer.concat([data, chunk]) })
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  const parse = (): RawAnswer | null => {
    const text = data.toString('latin1')
    const end = text.indexOf('\r\n\r\n')
    if (end === -1) return null
    const headers = text.slice(0, end)
    const length = /\r\ncontent-length:\s*(\d+)/i.exec(headers)
    const body = data.subarray(end + 4)
    if (length === null || body.length < Number(length[1])) return null
    return { status: Number(text.slice(9, 12)), headers, body: body.subarray(0, Number(length[1])).toString('utf8') }
  }
  return {
    socket,
    received: () => data.toString('latin1'),
    closed,
    answer: async (timeoutMs = 10_000) => {
      const isAnswered = await eventually(() => parse() !== null, timeoutMs)
      const parsed = parse()
      if (!isAnswered || parsed === null) throw new Error(`no complete answer within ${timeoutMs} ms: ${JSON.stringify(data.toString('latin1'))}`)
      return parsed
    }
  }
}

function uploadHead (chronos: Chronos, headers: Record<string, string>): string {
  const lines = ['POST /run HTTP/1.1', `Host: 127.0.0.1:${new URL(chronos.url).port}`, 'Content-Type: application/x-ndjson']
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  return lines.join('\r\n') + '\r\n\r\n'
}

/** Resolves true when the promise settles within `ms`, false otherwise. */
async function within (promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const result = await Promise.race([promise.then(() => true), new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(false), ms) })])
  clearTimeout(timer)
  return result
}

describe('operations', function () {
  this.timeout(30_000)

  describe('GET /metrics', function () {
    let chronos: Chronos
    let target: Target
    let release: () => void = () => {}

    beforeEach(async function () {
      const gate = new Promise<void>((resolve) => { release = resolve })
      target = await startTarget(async () => {
        await gate
        return undefined
      })
      chronos = await startChronos()
    })

    afterEach(async function () {
      release()
      await chronos.cleanup()
      await target.close()
    })

    it('answers Prometheus text with every Chronos series and an event-loop lag metric, without a key', async function () {
      const answer = await chronos.get('/metrics')
      expect(answer.status).to.equal(200)
      expect(answer.headers.get('content-type')).to.match(/^text\/plain/)
      for (const name of [
        'chronos_records_total', 'chronos_request_duration_seconds', 'chronos_jobs', 'chronos_inflight_requests',
        'chronos_upload_bytes_total', 'chronos_redis_up', 'chronos_leases_held', 'chronos_lease_takeovers_total',
        'chronos_fencing_refusals_total'
      ]) {
        expect(answer.text, name).to.match(new RegExp(`^# TYPE ${name} `, 'm'))
      }
      expect(answer.text).to.match(/^# TYPE \w*event_?loop_?lag\w* /m)
      expect(answer.text).to.match(/^\w*event_?loop_?lag\w* \d/m)
      expect(sample(answer.text, 'chronos_redis_up')).to.equal(1)
      expect(sample(answer.text, 'chronos_lease_takeovers_total')).to.equal(0)
    })

    it('moves during and after a job: in-flight requests, running jobs, records by outcome, durations and upload bytes', async function () {
      const before = await scrape(chronos)
      const succeededBefore = sample(before, 'chronos_records_total{outcome="succeeded"}') ?? 0
      const durationsBefore = sample(before, 'chronos_request_duration_seconds_count') ?? 0
      const bytesBefore = sample(before, 'chronos_upload_bytes_total{result="accepted"}') ?? 0

      const body = buildUpload(target.port, makeRecords(7), { concurrency: 2 })
      const answer = await chronos.upload(body)
      expect(answer.status, answer.text).to.equal(202)
      const jobId: string = answer.json.job_id

      // The target holds both requests: the gauges show them.
      expect(await eventually(() => target.inFlight === 2)).to.equal(true)
      const during = await scrape(chronos)
      expect(sample(during, 'chronos_inflight_requests')).to.equal(2)
      expect(sample(during, 'chronos_jobs{state="running"}')).to.equal(1)

      release()
      const status = await chronos.waitForState(jobId)
      expect(status).to.include({ state: 'completed', succeeded: 7 })
      const after = await scrape(chronos)
      expect((sample(after, 'chronos_records_total{outcome="succeeded"}') ?? 0) - succeededBefore).to.equal(7)
      expect((sample(after, 'chronos_request_duration_seconds_count') ?? 0) - durationsBefore).to.equal(7)
      expect((sample(after, 'chronos_upload_bytes_total{result="accepted"}') ?? 0) - bytesBefore).to.equal(Buffer.byteLength(body))
      expect(sample(after, 'chronos_inflight_requests')).to.equal(0)
      // The state is written before the runner lets go of the job: the gauge follows shortly.
      expect(await eventually(async () => sample(await scrape(chronos), 'chronos_jobs{state="running"}') === 0)).to.equal(true)
    })

    it('counts failed records under outcome="failed"', async function () {
      release()
      await target.close()
      target = await startTarget(() => ({ status: 400 }))
      const before = sample(await scrape(chronos), 'chronos_records_total{outcome="failed"}') ?? 0
      const answer = await chronos.upload(buildUpload(target.port, makeRecords(3)))
      await chronos.waitForState(answer.json.job_id)
      expect((sample(await scrape(chronos), 'chronos_records_total{outcome="failed"}') ?? 0) - before).to.equal(3)
    })
  })

  describe('GET /readyz', function () {
    let chronos: Chronos | undefined
    let parent: string

    beforeEach(async function () {
      chronos = undefined
      parent = await mkdtemp(join(tmpdir(), 'chronos-readyz-'))
    })

    afterEach(async function () {
      await chronos?.cleanup()
      await rm(parent, { recursive: true, force: true })
    })

    it('answers 200 with its checks when Redis and the spool dir are fine', async function () {
      chronos = await startChronos()
      const answer = await chronos.get('/readyz')
      expect(answer.status, answer.text).to.equal(200)
      expect(answer.json.checks).to.include({ redis: true, spool: true })
      expect((await chronos.get('/healthz')).status).to.equal(200)
    })

    it('answers 503 with checks.spool false when the spool dir is gone (its parent removed)', async function () {
      chronos = await startChronos({ CHRONOS_SPOOL_DIR: join(parent, 'deep', 'spool') })
      expect((await chronos.get('/readyz')).status).to.equal(200)
      await rm(join(parent, 'deep'), { recursive: true, force: true })
      const answer = await chronos.get('/readyz')
      expect(answer.status, answer.text).to.equal(503)
      expect(answer.json.checks).to.include({ spool: false, redis: true })
      expect((await chronos.get('/healthz')).status, 'liveness is not readiness').to.equal(200)
    })

    it('answers 503 when the spool path is no longer a directory (a regular file took its place)', async function () {
      // Root passes access(W_OK) on any file, so a permission-bit check cannot see this;
      // uploads would fail with ENOTDIR all the same.
      const spoolDir = join(parent, 'spool')
      chronos = await startChronos({ CHRONOS_SPOOL_DIR: spoolDir })
      await rm(spoolDir, { recursive: true, force: true })
      await writeFile(spoolDir, 'not a directory')
      const answer = await chronos.get('/readyz')
      expect(answer.status, answer.text).to.equal(503)
      expect(answer.json.checks).to.include({ spool: false })
    })

    it('answers 503 when the spool dir has less free space than the configured floor (CHRONOS_SPOOL_MIN_FREE_BYTES)', async function () {
      // Issue 6: "/readyz checks Redis and the spool directory's free space (fails when below a
      // configurable floor)". No disk has 1 PiB free.
      chronos = await startChronos({ CHRONOS_SPOOL_MIN_FREE_BYTES: String(2 ** 50) })
      const answer = await chronos.get('/readyz')
      expect(answer.status, answer.text).to.equal(503)
    })

    describe('when Redis is unreachable', function () {
      let unreachable: Chronos

      beforeEach(async function () {
        const probe = createServer()
        await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve))
        const { port } = probe.address() as AddressInfo
        await new Promise<void>((resolve) => probe.close(() => resolve()))
        unreachable = await startChronos({}, `redis://127.0.0.1:${port}`)
        unreachable.redis.on('error', () => {}) // the helper's own client: keep mocha's output clean
      })

      afterEach(async function () {
        // A stop() that hangs must not take the suite down: then clean up by hand and leave
        // the stuck service (its Redis client retrying a closed port) to mocha's exit.
        if (await within(unreachable.stop(), 10_000)) {
          await unreachable.cleanup()
        } else {
          unreachable.service.server.closeAllConnections()
          unreachable.redis.disconnect()
          await rm(unreachable.spoolDir, { recursive: true, force: true })
        }
      })

      it('answers 503 with checks.redis false, and metrics say chronos_redis_up 0', async function () {
        const answer = await unreachable.get('/readyz')
        expect(answer.status, answer.text).to.equal(503)
        expect(answer.json.checks).to.include({ redis: false, spool: true })
        expect((await unreachable.get('/healthz')).status).to.equal(200)
        expect(sample((await unreachable.get('/metrics')).text, 'chronos_redis_up')).to.equal(0)
        expectError(await unreachable.upload(buildUpload(1, makeRecords(1))), 503, 'store_unavailable')
      })

      it('stops (SIGTERM semantics) within 10 s instead of waiting for Redis forever', async function () {
        expect(await within(unreachable.stop(), 10_000), 'service.stop() settled').to.equal(true)
      })
    })
  })

  describe('request ids and access logs', function () {
    let chronos: Chronos
    let target: Target

    beforeEach(async function () {
      target = await startTarget()
      chronos = await startChronos()
    })

    afterEach(async function () {
      await chronos.cleanup()
      await target.close()
    })

    it('echoes a sane incoming x-request-id', async function () {
      for (const id of ['abc-123', 'req_1.2:3', 'A'.repeat(128), randomUUID()]) {
        const answer = await chronos.get('/healthz', { 'x-request-id': id })
        expect(answer.headers.get('x-request-id')).to.equal(id)
      }
    })

    it('generates a fresh id when none is sent', async function () {
      const first = (await chronos.get('/healthz')).headers.get('x-request-id')
      const second = (await chronos.get('/healthz')).headers.get('x-request-id')
      expect(first).to.match(SANE_REQUEST_ID)
      expect(second).to.match(SANE_REQUEST_ID)
      expect(first).to.not.equal(second)
    })

    for (const [label, id] of [['spaces', 'has spaces in it'], ['300 characters', 'x'.repeat(300)], ['a slash and quotes', '../"x"'], ['a JSON fragment', '{"level":60}']] as const) {
      it(`replaces an insane incoming id (${label}) with a generated one`, async function () {
        const answer = await chronos.get('/healthz', { 'x-request-id': id })
        const echoed = answer.headers.get('x-request-id')
        expect(echoed).to.not.equal(id)
        expect(echoed).to.match(SANE_REQUEST_ID)
        expect(JSON.stringify(chronos.logs)).to.not.include(id)
      })
    }

    it('writes exactly one access-log line per request, with method, path, status, durationMs and reqId', async function () {
      const calls: Array<[string, () => Promise<HttpAnswer>, string, string, number]> = [
        ['r-healthz', async () => await chronos.get('/healthz', { 'x-request-id': 'r-healthz' }), 'GET', '/healthz', 200],
        ['r-info', async () => await chronos.get('/info', { 'x-request-id': 'r-info' }), 'GET', '/info', 200],
        ['r-metrics', async () => await chronos.get('/metrics', { 'x-request-id': 'r-metrics' }), 'GET', '/metrics', 200],
        ['r-status-404', async () => await chronos.get('/status?key=nope', { 'x-request-id': 'r-status-404' }), 'GET', '/status', 404],
        ['r-status-400', async () => await chronos.get('/status', { 'x-request-id': 'r-status-400' }), 'GET', '/status', 400],
        ['r-no-route', async () => await chronos.get('/nowhere', { 'x-request-id': 'r-no-route' }), 'GET', '/nowhere', 404],
        ['r-bad-upload', async () => await chronos.upload('not json\n', { 'x-request-id': 'r-bad-upload' }), 'POST', '/run', 400],
        ['r-415', async () => await chronos.upload('x', { 'x-request-id': 'r-415', 'content-type': 'text/plain' }), 'POST', '/run', 415]
      ]
      for (const [reqId, call, method, path, status] of calls) {
        const answer = await call()
        expect(answer.status, `${reqId}: ${answer.text}`).to.equal(status)
        expect(await eventually(() => accessLines(chronos.logs, reqId).length > 0), reqId).to.equal(true)
        await sleep(20)
        const lines = accessLines(chronos.logs, reqId)
        expect(lines, reqId).to.have.length(1)
        expect(lines[0], reqId).to.include({ method, path, status, reqId })
        expect(lines[0]?.durationMs, reqId).to.be.a('number').and.to.be.at.least(0)
      }
    })

    it('puts the jobId on the access-log line of POST /run, and job log lines carry it too', async function () {
      const answer = await chronos.upload(buildUpload(target.port, makeRecords(2)), { 'x-request-id': 'r-run' })
      expect(answer.status).to.equal(202)
      const jobId: string = answer.json.job_id
      await chronos.waitForState(jobId)
      const lines = accessLines(chronos.logs, 'r-run')
      expect(lines).to.have.length(1)
      expect(lines[0]).to.include({ method: 'POST', path: '/run', status: 202, jobId })
      const jobLines = chronos.logs.filter((entry) => entry.jobId === jobId && !('durationMs' in entry && 'method' in entry))
      expect(jobLines.length, 'job state-change lines carry jobId').to.be.greaterThan(1)
    })

    it('puts the jobId on the access-log lines of /status and /jobs/:id', async function () {
      const { json } = await chronos.upload(buildUpload(target.port, makeRecords(1)))
      await chronos.waitForState(json.job_id)
      await chronos.get(`/status?key=${json.job_id as string}`, { 'x-request-id': 'r-status' })
      await chronos.get(`/jobs/${json.job_id as string}`, { 'x-request-id': 'r-job' })
      expect(accessLines(chronos.logs, 'r-status')[0]).to.include({ jobId: json.job_id, status: 200 })
      expect(accessLines(chronos.logs, 'r-job')[0]).to.include({ jobId: json.job_id, status: 200 })
    })

    it('never logs a payload, a rejected line\'s text or a metadata header value', async function () {
      const marker = `PAYLOAD-MARKER-${randomUUID()}`
      const metaSecret = `META-SECRET-${randomUUID()}`
      await target.close()
      // Record 2 is refused with its payload echoed back (kept as the result snippet);
      // record 3 is retried once.
      target = await startTarget((req, attempt) => {
        if (req.recordId === '2') return { status: 400, body: req.body }
        if (req.recordId === '3' && attempt === 1) return { status: 503, body: req.body }
        return undefined
      })
      const records = [
        { id: 1, payload: JSON.stringify({ secret: `${marker}-1` }) },
        { id: 2, payload: { secret: `${marker}-2` } },
        { id: 3, payload: `${marker}-3` }
      ]
      const metadata = [{ key: 'x-api-token', value: metaSecret }]
      const answer = await chronos.upload(buildUpload(target.port, records, { metadata }))
      expect(answer.status, answer.text).to.equal(202)
      const status = await chronos.waitForState(answer.json.job_id)
      expect(status).to.include({ succeeded: 2, failed: 1 })
      // A refused upload whose bad line holds the marker.
      const refused = await chronos.upload([specLine(target.port, { metadata }), JSON.stringify({ id: 1, payload: 'fine' }), `{"id":2,"payload":${JSON.stringify(marker)},`].join('\n'))
      expectError(refused, 400, 'invalid_record')
      const badSpec = await chronos.upload([JSON.stringify({ host: marker, metadata }), JSON.stringify({ id: 1, payload: marker })].join('\n'))
      expectError(badSpec, 400, 'invalid_config')
      expect(chronos.logs.length).to.be.greaterThan(5)
      for (const entry of chronos.logs) {
        const text = JSON.stringify(entry)
        expect(text, 'a log line holds a payload').to.not.include(marker)
        expect(text, 'a log line holds a metadata value').to.not.include(metaSecret)
      }
    })
  })

  describe('upload hardening', function () {
    const MAX_UPLOAD = 1024 * 1024
    let chronos: Chronos
    let target: Target
    let sockets: Socket[]

    beforeEach(async function () {
      sockets = []
      target = await startTarget()
      chronos = await startChronos({
        CHRONOS_MAX_UPLOAD_BYTES: String(MAX_UPLOAD),
        CHRONOS_MAX_LINE_BYTES: String(64 * 1024),
        CHRONOS_UPLOAD_IDLE_TIMEOUT_MS: '500'
      })
    })

    afterEach(async function () {
      for (const socket of sockets) socket.destroy()
      await chronos.cleanup()
      await target.close()
    })

    function raw (): ReturnType<typeof rawSocket> {
      const client = rawSocket(chronos.url)
      sockets.push(client.socket)
      return client
    }

    it('answers 413 payload_too_large to a Content-Length over CHRONOS_MAX_UPLOAD_BYTES before any body byte is sent', async function () {
      const client = raw()
      client.socket.write(uploadHead(chronos, { 'Content-Length': String(1024 ** 4) }))
      const answer = await client.answer()
      expect(answer.status, answer.body).to.equal(413)
      expect(JSON.parse(answer.body).error.code).to.equal('payload_too_large')
      await expectNothingLeft(chronos, target)
    })

    it('accepts a Content-Length exactly at the limit (control)', async function () {
      const records = buildUpload(target.port, makeRecords(3))
      const body = records + '\n'.repeat(MAX_UPLOAD - Buffer.byteLength(records))
      expect(Buffer.byteLength(body)).to.equal(MAX_UPLOAD)
      const answer = await chronos.upload(body)
      expect(answer.status, answer.text).to.equal(202)
      await chronos.waitForState(answer.json.job_id)
    })

    it('cuts off a slow-loris upload (head and part of the body, then silence) and leaves nothing behind', async function () {
      const client = raw()
      const start = buildUpload(target.port, makeRecords(50))
      client.socket.write(uploadHead(chronos, { 'Content-Length': String(Buffer.byteLength(start) + 1_000_000) }))
      client.socket.write(start)
      expect(await within(client.closed, 10_000), 'the server closed the idle socket').to.equal(true)
      expect(await eventually(async () => (await chronos.spoolFiles()).length === 0)).to.equal(true)
      await sleep(100)
      await expectNothingLeft(chronos, target)
      // The service still serves.
      expect((await chronos.get('/healthz')).status).to.equal(200)
    })

    it('cuts off a client that sends the head and then nothing', async function () {
      const client = raw()
      client.socket.write(uploadHead(chronos, { 'Content-Length': '5000' }))
      expect(await within(client.closed, 10_000)).to.equal(true)
      expect(await eventually(async () => (await chronos.spoolFiles()).length === 0), 'the partial spool file is removed').to.equal(true)
      await expectNothingLeft(chronos, target)
    })

    it('cuts off a client that stops in the middle of its head', async function () {
      const client = raw()
      client.socket.write('POST /run HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty')
      expect(await within(client.closed, 10_000)).to.equal(true)
      await expectNothingLeft(chronos, target)
    })

    it('accepts a slow but steady upload: a line every 200 ms for over 2 s with a 500 ms idle timeout', async function () {
      const lines = buildUpload(target.port, makeRecords(12)).split('\n').filter((line) => line !== '')
      const answer = await new Promise<{ status: number, body: string }>((resolve, reject) => {
        const req = request(`${chronos.url}/run`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' } }, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (chunk: string) => { body += chunk })
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        })
        req.on('error', reject)
        ;(async () => {
          for (const line of lines) {
            req.write(line + '\n')
            await sleep(200)
          }
          req.end()
        })().catch(reject)
      })
      expect(answer.status, answer.body).to.equal(202)
      const json = JSON.parse(answer.body)
      expect(json.records).to.equal(12)
      const status = await chronos.waitForState(json.job_id)
      expect(status).to.include({ state: 'completed', count: 12, succeeded: 12 })
    })

    it('answers 413 payload_too_large to a gzip bomb (counted in decompressed bytes) and leaves nothing', async function () {
      const bomb = gzipSync(Buffer.concat([Buffer.from(buildUpload(target.port, makeRecords(2))), Buffer.alloc(64 * 1024 * 1024, '\n')]))
      expect(bomb.length).to.be.lessThan(MAX_UPLOAD)
      const rejectedBefore = sample(await scrape(chronos), 'chronos_upload_bytes_total{result="rejected"}') ?? 0
      const answer = await chronos.upload(bomb, { 'content-encoding': 'gzip' })
      expectError(answer, 413, 'payload_too_large')
      await expectNothingLeft(chronos, target)
      // Inflating stopped near the limit instead of running through all 64 MiB.
      const inflated = (sample(await scrape(chronos), 'chronos_upload_bytes_total{result="rejected"}') ?? 0) - rejectedBefore
      expect(inflated).to.be.at.most(2 * MAX_UPLOAD)
    })

    it('answers 413 line_too_large to a gzip bomb of one endless line', async function () {
      const bomb = gzipSync(Buffer.concat([Buffer.from(specLine(target.port) + '\n{"id":1,"payload":"'), Buffer.alloc(32 * 1024 * 1024, 'a')]))
      const answer = await chronos.upload(bomb, { 'content-encoding': 'gzip' })
      expectError(answer, 413, 'line_too_large')
      await expectNothingLeft(chronos, target)
    })
  })

  describe('GET /info', function () {
    const CALLBACK_SECRET = `whsec_${Buffer.from(randomUUID()).toString('base64')}`
    const API_KEY = `info-key-${randomUUID()}`
    let chronos: Chronos

    before(async function () {
      chronos = await startChronos({
        CHRONOS_API_KEYS: `${API_KEY},second-${API_KEY}`,
        CHRONOS_CALLBACK_SECRET: CALLBACK_SECRET,
        CHRONOS_MAX_UPLOAD_BYTES: '123456789'
      })
    })

    after(async function () {
      await chronos.cleanup()
    })

    it('answers name, version, uptime, node, redis reachability, jobs and limits', async function () {
      const answer = await chronos.get('/info', { authorization: `Bearer ${API_KEY}` })
      expect(answer.status, answer.text).to.equal(200)
      const info = answer.json
      expect(info.name).to.equal('chronos')
      expect(info.version).to.match(/^\d+\.\d+\.\d+/)
      const uptimeKey = Object.keys(info).find((key) => key.startsWith('uptime'))
      expect(uptimeKey, 'an uptime field').to.be.a('string')
      expect(info[uptimeKey as string]).to.be.a('number').and.at.least(0)
      expect(info.node).to.equal(process.version)
      expect(info.redis).to.deep.include({ reachable: true })
      expect(info.jobs.active).to.be.a('number')
      expect(info.jobs.queued).to.be.a('number')
      expect(info.limits).to.be.an('object')
      expect(info.limits.max_upload_bytes).to.equal(123456789)
      expect(info.limits).to.deep.include({ max_active_jobs: 16, max_in_flight: 512 })
    })

    it('holds no secret: neither API key, nor the callback secret, nor the Redis URL', async function () {
      const answer = await chronos.get('/info', { authorization: `Bearer ${API_KEY}` })
      expect(answer.text).to.not.include(API_KEY)
      expect(answer.text).to.not.include(CALLBACK_SECRET)
      expect(answer.text).to.not.include(chronos.config.redis.url)
    })

    it('needs a key when keys are configured', async function () {
      expectError(await chronos.get('/info'), 401, 'unauthorized')
    })
  })
})
