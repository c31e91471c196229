/**
 * The ingest ceiling: a node:http server that only writes each upload to a file.
 *
 * Usage: tsx scripts/bench/ingest-raw.ts spoolDir [port]
 *
 * Every request body is piped to a new file in spoolDir, fsynced, and answered 202 with
 * {"bytes":N}; the file is then deleted so repeated runs do not fill the disk. No parsing,
 * no validation, no Redis: the fastest honest "accepted durably" answer, against which
 * Chronos's POST /run (validate every line, spool, fsync, register the job) is compared.
 * The fsync is kept because Chronos's 202 promises the upload is on disk (DESIGN §1):
 * without it the ratio would measure the page cache, not validation.
 *
 * Stdout: one JSON line {"port":N} once listening. A write error answers 500.
 * Exits on SIGTERM/SIGINT.
 */
import http from 'node:http'
import { createWriteStream } from 'node:fs'
import { unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { pipeline } from 'node:stream/promises'

const [spoolDir, portArg] = process.argv.slice(2)
if (spoolDir === undefined) throw new Error('usage: ingest-raw.ts spoolDir [port]')
const port = Number(portArg ?? 0)

let uploads = 0

async function accept (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const file = join(spoolDir as string, `upload-${process.pid}-${++uploads}.body`)
  // flush: true makes the stream fsync before 'finish', so pipeline() resolves only once
  // the bytes are durable, like Chronos's spool writer.
  const out = createWriteStream(file, { flush: true })
  try {
    await pipeline(req, out)
    send(res, 202, { bytes: out.bytesWritten })
  } catch {
    send(res, 500, { error: { code: 'internal', message: 'write failed' } })
  } finally {
    await unlink(file).catch(() => {})
  }
}

function send (res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}

const server = http.createServer((req, res) => {
  accept(req, res).catch((err: unknown) => res.destroy(err as Error))
})
// Large uploads must not be cut off by the default 5-minute request timeout.
server.requestTimeout = 0

server.listen(port, '127.0.0.1', () => {
  const address = server.address()
  const bound = typeof address === 'object' && address !== null ? address.port : port
  process.stdout.write(JSON.stringify({ port: bound }) + '\n')
})

function shutdown (): void {
  server.close()
  server.closeAllConnections()
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
