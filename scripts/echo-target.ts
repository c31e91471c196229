/**
 * A loopback target for trying Chronos by hand (README walk-through): answers 200 to every
 * request and prints one line per request — method, path, record id, idempotency key, the
 * other headers Chronos set (the job's metadata among them) and body size (never the body
 * itself).
 * Usage: npx tsx scripts/echo-target.ts [port=9000]
 */
import http from 'node:http'

const port = Number(process.argv[2] ?? 9000)
/** Headers every request carries; the line leaves them out so the job's own stand out. */
const TRANSPORT = new Set(['host', 'connection', 'content-length', 'content-type', 'transfer-encoding', 'keep-alive', 'x-chronos-record-id', 'idempotency-key'])

const server = http.createServer((req, res) => {
  let bytes = 0
  req.on('data', (chunk: Buffer) => { bytes += chunk.length })
  req.on('end', () => {
    const recordId = String(req.headers['x-chronos-record-id'] ?? '-')
    const key = String(req.headers['idempotency-key'] ?? '-')
    const others = Object.entries(req.headers).filter(([name]) => !TRANSPORT.has(name)).map(([name, value]) => ` ${name}=${String(value)}`).join('')
    process.stdout.write(`${req.method ?? '?'} ${req.url ?? '?'} record=${recordId} idempotency-key=${key}${others} bytes=${bytes}\n`)
    res.end('ok')
  })
})

server.listen(port, '127.0.0.1', () => process.stdout.write(`echo target listening on http://127.0.0.1:${port}\n`))
