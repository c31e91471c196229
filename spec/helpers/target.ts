// A loopback HTTP target for delivery specs: node:http on 127.0.0.1, port 0.
// Every request is recorded (once its body has been read) in `target.requests`, in arrival
// order. The reply is scripted per request by a function that also gets the attempt number
// for the request's record (1 for the first request carrying that x-chronos-record-id), so
// "503 then 200", Retry-After, slow answers and connection resets are one-liners.
// Requests without a record id are counted per `METHOD url` instead. With `tls` options it
// serves https instead (spec/helpers/tls-certs.ts makes the certificates).
import { once } from 'node:events'
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http'
import { createServer as createHttpsServer, type ServerOptions as HttpsServerOptions } from 'node:https'
import type { AddressInfo } from 'node:net'
import { performance } from 'node:perf_hooks'

export interface TargetRequest {
  method: string
  url: string
  headers: IncomingHttpHeaders
  body: string
  /** performance.now() when the request head arrived. */
  arrivedAt: number
  /** x-chronos-record-id header. */
  recordId: string | undefined
  /** idempotency-key header. */
  idempotencyKey: string | undefined
}

export interface TargetReply {
  /** @defaultValue 200 */
  status?: number
  /** Wait this long (after the body is read) before answering or resetting. */
  delayMs?: number
  headers?: Record<string, string>
  /** @defaultValue '' */
  body?: string
  /** Destroy the socket instead of answering. */
  reset?: boolean
}

export type TargetScript = (req: TargetRequest, attempt: number) => TargetReply | undefined | Promise<TargetReply | undefined>

export interface Target {
  /** http(s)://127.0.0.1:<port>/ */
  readonly url: string
  /** http(s)://127.0.0.1:<port> */
  readonly origin: string
  readonly host: string
  readonly port: number
  /** Every request whose body has been read, in arrival order. */
  readonly requests: TargetRequest[]
  /** Requests being handled right now, and the most there ever were at once. */
  readonly inFlight: number
  readonly maxInFlight: number
  /** Resolves with `requests` once at least n were recorded; rejects after timeoutMs. */
  waitForRequests(n: number, timeoutMs?: number): Promise<TargetRequest[]>
  /** Stops listening, drops every connection (keep-alive ones too) and pending delays. */
  close(): Promise<void>
  /** Goes down: like close(), so every connection to the port is refused until accept(). */
  refuse(): Promise<void>
  /** Comes back up on the same port. */
  accept(): Promise<void>
}

export interface TargetOptions {
  /** Serve https with these options (certificate, key, and for mTLS requestCert, ca, rejectUnauthorized). */
  tls?: HttpsServerOptions
}

export async function startTarget (script: TargetScript = () => undefined, options: TargetOptions = {}): Promise<Target> {
  const requests: TargetRequest[] = []
  const attempts = new Map<string, number>()
  const timers = new Map<NodeJS.Timeout, () => void>()
  let waiters: Array<() => void> = []
  let inFlight = 0
  let maxInFlight = 0

  function record (req: TargetRequest): number {
    requests.push(req)
    const key = req.recordId ?? `${req.method} ${req.url}`
    const attempt = (attempts.get(key) ?? 0) + 1
    attempts.set(key, attempt)
    const ready = waiters
    waiters = []
    for (const check of ready) check()
    return attempt
  }

  function delay (ms: number): Promise<void> {
    return new Promise(resolve => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        resolve()
      }, ms)
      timers.set(timer, resolve)
    })
  }

  async function handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivedAt = performance.now()
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const recorded: TargetRequest = {
      method: req.method ?? '',
      url: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString('utf8'),
      arrivedAt,
      recordId: header(req.headers, 'x-chronos-record-id'),
      idempotencyKey: header(req.headers, 'idempotency-key'),
    }
    const attempt = record(recorded)
    const reply = (await script(recorded, attempt)) ?? {}
    if (reply.delayMs !== undefined && reply.delayMs > 0) await delay(reply.delayMs)
    if (res.destroyed || req.socket.destroyed) return
    if (reply.reset === true) {
      req.socket.destroy()
      return
    }
    res.writeHead(reply.status ?? 200, reply.headers)
    res.end(reply.body ?? '')
  }

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    // 'close' fires once per response: answered, reset by us, or aborted by the client.
    res.once('close', () => { inFlight-- })
    res.on('error', () => {})
    handle(req, res).catch((err: Error) => {
      if (res.headersSent || res.destroyed) return
      res.writeHead(500, { 'content-type': 'text/plain' })
      res.end(`target script failed: ${err.message}`)
    })
  }
  const server = options.tls === undefined ? createServer(onRequest) : createHttpsServer(options.tls, onRequest)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  const { port } = server.address() as AddressInfo
  const origin = `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`

  return {
    url: `${origin}/`,
    origin,
    host: '127.0.0.1',
    port,
    requests,
    get inFlight () { return inFlight },
    get maxInFlight () { return maxInFlight },
    waitForRequests (n, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters = waiters.filter(w => w !== check)
          reject(new Error(`target got ${requests.length} of ${n} requests within ${timeoutMs} ms`))
        }, timeoutMs)
        function check (): void {
          if (requests.length >= n) {
            clearTimeout(timer)
            resolve(requests)
          } else {
            waiters.push(check)
          }
        }
        check()
      })
    },
    close: stop,
    refuse: stop,
    async accept () {
      server.listen(port, '127.0.0.1')
      await once(server, 'listening')
    },
  }

  async function stop (): Promise<void> {
    // Pending delays end now; their responses find the socket destroyed and write nothing.
    for (const [timer, resolve] of timers) {
      clearTimeout(timer)
      resolve()
    }
    timers.clear()
    if (!server.listening) return
    const closed = once(server, 'close')
    server.close()
    server.closeAllConnections()
    await closed
  }
}

function header (headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value[0] : value
}
