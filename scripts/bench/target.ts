/**
 * Benchmark target: the HTTP endpoint both the raw client and Chronos send to.
 *
 * Usage: tsx scripts/bench/target.ts [latencyMs] [port] [certFile keyFile]
 *   (or BENCH_TARGET_LATENCY_MS / BENCH_TARGET_PORT; port 0 = any free port; with a
 *   certificate and key (PEM files) it serves https, for the https scenario)
 *
 * Every request, whatever its method or path, is drained and answered 200 with an empty
 * body after `latencyMs` (0 = at once). It runs as its own process so its CPU never
 * competes with the client's event loop, only with the client's process (as a real
 * remote target would compete for nothing at all: see docs/performance.md, "Method", its caveat on one machine).
 *
 * Stdout: one JSON line `{"port":N,"latencyMs":L}` once listening. When started with an
 * IPC channel, it answers the message `'stats'` with `{requests}` so the bench can check
 * that every record really arrived, without adding an HTTP route that would break the
 * "200 to every request" rule. Exits on SIGTERM/SIGINT or when the IPC parent goes away.
 */
import { readFileSync } from 'node:fs'
import http from 'node:http'
import https from 'node:https'

const latencyMs = Number(process.argv[2] ?? process.env['BENCH_TARGET_LATENCY_MS'] ?? 0)
const port = Number(process.argv[3] ?? process.env['BENCH_TARGET_PORT'] ?? 0)
const [certFile, keyFile] = process.argv.slice(4)
if (!Number.isFinite(latencyMs) || latencyMs < 0 || !Number.isInteger(port) || port < 0) {
  throw new Error('usage: target.ts [latencyMs>=0] [port>=0]')
}

let requests = 0

function answer (res: http.ServerResponse): void {
  // Explicit zero length keeps the connection reusable without chunked framing.
  res.writeHead(200, { 'content-length': '0' })
  res.end()
}

function onRequest (req: http.IncomingMessage, res: http.ServerResponse): void {
  requests++
  // Drain the body before answering: a client may not reuse the socket otherwise, and
  // Chronos's payloads must be read the way a real target reads them.
  req.on('end', latencyMs > 0 ? () => setTimeout(answer, latencyMs, res) : () => answer(res))
  req.resume()
}

const server = certFile === undefined || keyFile === undefined
  ? http.createServer(onRequest)
  : https.createServer({ cert: readFileSync(certFile), key: readFileSync(keyFile) }, onRequest)

// The clients keep up to 256 sockets open across runs that may pause for seconds while
// the next server starts; a short keep-alive would make them reconnect mid-run.
server.keepAliveTimeout = 120_000
server.headersTimeout = 130_000
server.requestTimeout = 0
server.maxRequestsPerSocket = 0

server.listen(port, '127.0.0.1', () => {
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  process.stdout.write(JSON.stringify({ port: bound, latencyMs }) + '\n')
})

process.on('message', (message) => {
  if (message === 'stats' && process.send !== undefined) process.send({ requests })
})
process.on('disconnect', () => shutdown())
process.on('SIGTERM', () => shutdown())
process.on('SIGINT', () => shutdown())

// Exit by letting the loop empty: no listener, no socket, no IPC channel left. The bench
// still SIGKILLs after a grace period, so a stuck socket cannot keep this process alive.
function shutdown (): void {
  server.close()
  server.closeAllConnections()
  if (process.connected) process.disconnect()
}
