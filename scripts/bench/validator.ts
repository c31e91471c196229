/**
 * Micro-benchmark of the upload line validator alone (no HTTP, no disk): MB/s over
 * generated ~120-byte records fed in 64 KiB chunks, as a socket would. Used to measure
 * ingest changes before `make bench` (docs/performance.md, "Method"). Payloads are JSON text
 * in a string (the `ingest` scenario) or, with `object`, the same JSON object inline
 * (`ingest-object`).
 * Usage: npx tsx scripts/bench/validator.ts [records=200000] [rounds=5] [string|object]
 */
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createLineValidator } from '../../lib/upload/line-validator.js'

const records = Number(process.argv[2] ?? 200_000)
const rounds = Number(process.argv[3] ?? 5)
const isObject = process.argv[4] === 'object'
const CHUNK_BYTES = 64 * 1024

const lines = ['{"primarykey":"bench","protocol":"http","host":"127.0.0.1","port":9000,"path":"/ingest"}']
for (let i = 1; i <= records; i++) {
  const payload = { user_id: `user_${i}`, action: 'purchase', amount: i % 1000, sku: 'SKU-0001' }
  lines.push(JSON.stringify({ id: 10_000_000 + i, payload: isObject ? payload : JSON.stringify(payload) }))
}
const body = Buffer.from(lines.join('\n') + '\n')
const chunks: Buffer[] = []
for (let start = 0; start < body.length; start += CHUNK_BYTES) chunks.push(body.subarray(start, start + CHUNK_BYTES))

async function main (): Promise<void> {
  for (let round = 1; round <= rounds; round++) {
    const validator = createLineValidator({
      maxLineBytes: 1024 * 1024,
      maxUploadBytes: Number.MAX_SAFE_INTEGER,
      specLimits: { defaultConcurrency: 4, maxConcurrency: 256, defaultTimeoutMs: 30_000, defaultMaxAttempts: 3 }
    })
    const startedAt = performance.now()
    await pipeline(Readable.from(chunks), validator, new Writable({ write (_chunk, _encoding, callback) { callback() } }))
    const seconds = (performance.now() - startedAt) / 1000
    process.stdout.write(`round ${round}: ${(body.length / 1e6 / seconds).toFixed(0)} MB/s, ${validator.records} records\n`)
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${String(err)}\n`)
  process.exitCode = 1
})
