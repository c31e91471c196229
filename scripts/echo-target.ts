/**
 * A loopback target for trying Chronos by hand (README walk-through): answers 200 to every
 * request and prints one line per request — method, path, record id, idempotency key and
 * body size (never the body itself).
 * Usage: npx tsx scripts/echo-target.ts [port=9000]
 */
import http from 'node:http'

const port = Number(process.argv[2] ?? 9000)

const server = http.createServer((req, res) => {
  let bytes = 0
  req.on('data', (chunk: Buffer) => { bytes += chunk.length })
  req.on('end', () => {
    const recordId = String(req.headers['x-chronos-record-id'] ?? '-')
    const key = String(req.headers['idempotency-key'] ?? '-')
    process.stdout.write(`${req.method ?? '?'} ${req.url ?? '?'} record=${recordId} idempotency-key=${key} bytes=${bytes}\n`)
    res.end('ok')
  })
})

server.listen(port, '127.0.0.1', () => process.stdout.write(`echo target listening on http://127.0.0.1:${port}\n`))
