// createAttemptSender() against a real loopback target: one attempt ends in exactly one
// call of its callback, and never inside the call that started it — not even when undici
// fails the dispatch synchronously (a closed pool) or the job is already cancelled. The
// sender relies on that: a callback run mid-call would re-enter its pump.
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { performance } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { Pool } from 'undici'
import type { Attempt } from '../../lib/delivery/send-record.js'
import { createAttemptSender, DRAIN_MAX_BYTES } from '../../lib/delivery/send-record.js'
import { parseJobSpec, type JobSpec } from '../../lib/domain/job-spec.js'
import type { JobRecord } from '../../lib/domain/record.js'
import { startTarget, type Target } from '../helpers/target.js'

const LIMITS = { defaultConcurrency: 4, maxConcurrency: 16, defaultTimeoutMs: 5000, defaultMaxAttempts: 1 }

function specFor (target: Pick<Target, 'host' | 'port'>, timeoutMs = 5000): JobSpec {
  const result = parseJobSpec({ primarykey: 'send-record', protocol: 'http', host: target.host, port: target.port, path: '/ingest', timeout_ms: timeoutMs }, LIMITS)
  if (!result.ok) throw new Error(result.problems.join('; '))
  return result.spec
}

const RECORD: JobRecord = { index: 0, idJson: '"r-1"', id: 'r-1', payload: '{"n":1}' }

/** Starts one attempt; reports whether its callback ran during the call, and every result. */
async function attemptOnce (send: ReturnType<typeof createAttemptSender>, signal: AbortSignal): Promise<{ ranDuringCall: boolean, results: Array<Attempt | Error> }> {
  const results: Array<Attempt | Error> = []
  let isInCall = true
  let ranDuringCall = false
  const settled = new Promise<void>((resolve) => {
    send(RECORD, signal, (result) => {
      results.push(result)
      ranDuringCall ||= isInCall
      resolve()
    })
  })
  isInCall = false
  await settled
  // Any second call would come within a few ticks.
  await new Promise((resolve) => setTimeout(resolve, 20))
  return { ranDuringCall, results }
}

describe('createAttemptSender()', () => {
  let target: Target
  let pool: Pool

  beforeEach(async () => {
    target = await startTarget()
    pool = new Pool(target.origin, { connections: 2 })
  })

  afterEach(async () => {
    await pool.destroy()
    await target.close()
  })

  it('sends the record and reports one successful attempt, after the call returns', async () => {
    const { ranDuringCall, results } = await attemptOnce(createAttemptSender(specFor(target), 'job-1', pool), new AbortController().signal)
    expect(ranDuringCall).to.equal(false)
    expect(results).to.have.length(1)
    expect(results[0]).to.include({ ok: true, status: 200, error: null })
    expect(target.requests.map((req) => req.idempotencyKey)).to.deep.equal(['job-1:r-1'])
  })

  it('reports a dispatch undici fails synchronously (closed pool) once, after the call returns', async () => {
    await pool.close()
    const { ranDuringCall, results } = await attemptOnce(createAttemptSender(specFor(target), 'job-1', pool), new AbortController().signal)
    expect(ranDuringCall).to.equal(false)
    expect(results).to.have.length(1)
    expect(results[0]).to.include({ ok: false, status: null })
    expect(target.requests).to.have.length(0)
  })

  it('reports an attempt on a cancelled job as cancelled, after the call returns, and sends nothing', async () => {
    const controller = new AbortController()
    controller.abort()
    const { ranDuringCall, results } = await attemptOnce(createAttemptSender(specFor(target), 'job-1', pool), controller.signal)
    expect(ranDuringCall).to.equal(false)
    expect(results).to.deep.equal([{ ok: false, status: null, timeMs: 0, error: 'cancelled' }])
    expect(target.requests).to.have.length(0)
  })

  /**
   * A target that answers with `status` and headers, then writes the body as `write`
   * says and never ends it (unless `write` ends the response). Counts requests and
   * records when each connection closed.
   */
  async function scriptedServer (status: number, write: (res: ServerResponse) => void): Promise<{ server: Server, host: string, port: number, requests: () => number, closedAt: number[], sockets: Set<Socket> }> {
    let requests = 0
    const closedAt: number[] = []
    const sockets = new Set<Socket>()
    const server = createServer((req: IncomingMessage, res: ServerResponse) => {
      requests++
      req.resume()
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'text/plain' })
        res.flushHeaders()
        write(res)
      })
    })
    server.on('connection', (socket: Socket) => {
      sockets.add(socket)
      socket.on('close', () => {
        sockets.delete(socket)
        closedAt.push(performance.now())
      })
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    return { server, host: '127.0.0.1', port: (server.address() as AddressInfo).port, requests: () => requests, closedAt, sockets }
  }

  /** Writes one byte every `everyMs` until the connection closes. */
  function drip (everyMs: number, byte = 'x'): (res: ServerResponse) => void {
    return (res) => {
      const timer = setInterval(() => res.write(byte), everyMs)
      res.on('close', () => clearInterval(timer))
    }
  }

  describe('when the answer counts (issue 18 item 10)', () => {
    let scripted: Awaited<ReturnType<typeof scriptedServer>> | null = null
    let scriptedPool: Pool | null = null

    async function attemptAgainst (status: number, write: (res: ServerResponse) => void, timeoutMs: number): Promise<{ results: Array<Attempt | Error>, settledMs: number }> {
      scripted = await scriptedServer(status, write)
      scriptedPool = new Pool(`http://127.0.0.1:${scripted.port}`, { connections: 1 })
      const send = createAttemptSender(specFor(scripted, timeoutMs), 'job-1', scriptedPool)
      const startedAt = performance.now()
      const { results } = await attemptOnce(send, new AbortController().signal)
      return { results, settledMs: performance.now() - startedAt }
    }

    afterEach(async () => {
      await scriptedPool?.destroy()
      for (const socket of scripted?.sockets ?? []) socket.destroy()
      scripted?.server.close()
      scripted = null
      scriptedPool = null
    })

    it('counts a 2xx when its headers arrive, while the body still drips; drops the connection at the drain bound', async () => {
      const timeoutMs = 600
      const { results, settledMs } = await attemptAgainst(200, drip(50), timeoutMs)
      expect(results).to.have.length(1)
      expect(results[0]).to.include({ ok: true, status: 200, error: null })
      expect((results[0] as Attempt).timeMs).to.be.below(timeoutMs / 2)
      expect(settledMs).to.be.below(timeoutMs / 2)
      // Drained for at most half of timeout_ms (plus a sweep tick), then the connection is dropped.
      await sleep(timeoutMs)
      expect(scripted?.closedAt).to.have.length(1)
      expect(scripted?.requests()).to.equal(1)
    })

    it('counts a 2xx whose body never starts', async () => {
      const { results } = await attemptAgainst(200, () => {}, 400)
      expect(results).to.have.length(1)
      expect(results[0]).to.include({ ok: true, status: 200, error: null })
      await sleep(400)
      expect(scripted?.closedAt, 'the connection was dropped').to.have.length(1)
    })

    it(`drops a 2xx body past ${DRAIN_MAX_BYTES} bytes without a second result`, async () => {
      const chunk = Buffer.alloc(64 * 1024, 'y')
      const flood = (res: ServerResponse): void => {
        const pump = (): void => { while (!res.destroyed && res.write(chunk)); }
        res.on('drain', pump)
        pump()
      }
      // timeout_ms 20 s: the drain time bound is 5 s, so only the size bound can drop it sooner.
      const startedAt = performance.now()
      const { results } = await attemptAgainst(200, flood, 20_000)
      expect(results[0]).to.include({ ok: true, status: 200 })
      const deadline = Date.now() + 3000
      while (scripted?.closedAt.length === 0 && Date.now() < deadline) await sleep(10)
      expect(scripted?.closedAt, 'the connection was dropped long before the drain time').to.have.length(1)
      expect((scripted?.closedAt[0] as number) - startedAt).to.be.below(3000)
      expect(results).to.have.length(1)
    })

    it('counts a failure whose body drips as http_status with its status and the bytes so far, at its deadline', async () => {
      const { results, settledMs } = await attemptAgainst(503, drip(40, 'z'), 400)
      expect(results).to.have.length(1)
      expect(results[0]).to.include({ ok: false, status: 503, error: 'http_status' })
      expect((results[0] as Attempt).snippet).to.match(/^z+$/)
      expect(settledMs).to.be.below(2000)
    })

    it('counts a failure as soon as its snippet is complete, though the body never ends', async () => {
      const { results, settledMs } = await attemptAgainst(500, (res) => res.write('e'.repeat(600)), 10_000)
      expect(results).to.have.length(1)
      expect(results[0]).to.include({ ok: false, status: 500, error: 'http_status' })
      expect((results[0] as Attempt).snippet).to.equal('e'.repeat(512))
      expect(settledMs).to.be.below(2000)
    })

    it('still reuses the connection when a 2xx body ends promptly', async () => {
      scripted = await scriptedServer(200, (res) => setTimeout(() => res.end('done'), 20))
      scriptedPool = new Pool(`http://127.0.0.1:${scripted.port}`, { connections: 1 })
      const send = createAttemptSender(specFor(scripted, 2000), 'job-1', scriptedPool)
      for (let i = 0; i < 3; i++) {
        const { results } = await attemptOnce(send, new AbortController().signal)
        expect(results).to.have.length(1)
        expect(results[0]).to.include({ ok: true, status: 200 })
      }
      expect(scripted.requests()).to.equal(3)
      expect(scripted.closedAt, 'one keep-alive connection, never dropped').to.have.length(0)
    })
  })
})
