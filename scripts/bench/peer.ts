/**
 * The peer (issue 17): the same job done the way a BullMQ user would, for the bench's
 * `peer` scenario. Not a ceiling like raw.ts, a rival: a durable Redis queue holding every
 * record, and a worker delivering them.
 *
 * Usage: tsx scripts/bench/peer.ts upload.ndjson redis://127.0.0.1:PORT (with an IPC channel)
 *
 * 1. A `Worker` on a fresh queue, concurrency C from the upload's JobSpec (line 1), whose
 *    processor POSTs the record's payload with undici (the same Pool settings and header
 *    set as raw.ts) and throws on a non-2xx answer, so the job fails as BullMQ means it.
 *    Workers drop finished jobs past the last 1,000 completed and 5,000 failed: the
 *    "good practice" of BullMQ's Auto-removal of jobs guide. Its default keeps every
 *    finished job, which no one runs a million-job batch with.
 * 2. Once the worker is ready it tells the parent (`{ready: true}`), which reads Redis's
 *    used_memory as the baseline, and waits for 'go'.
 * 3. Then, timed: the upload is streamed with split2 and `Queue.addBulk`ed in chunks of
 *    ENQUEUE_CHUNK jobs (one awaited at a time, so memory stays bounded), while the worker
 *    already works: enqueue and delivery overlap as they would for a user.
 * 4. The clock stops at the last job's 'completed' or 'failed' event. Stdout: one JSON
 *    line {records, succeeded, failed, ms, recordsPerSec, enqueueMs, cpuUsPerRecord,
 *    mainThread}.
 */
import { createReadStream } from 'node:fs'
import { once } from 'node:events'
import { Queue, Worker, type Job } from 'bullmq'
import split2 from 'split2'
import { Pool } from 'undici'
import { readSched, shareBetween, type MainThreadShare } from './schedstat.js'

interface PeerResult {
  records: number
  succeeded: number
  failed: number
  ms: number
  recordsPerSec: number
  /** From 'go' until the last addBulk resolved. */
  enqueueMs: number
  cpuUsPerRecord: number
  mainThread: MainThreadShare | null
}

interface JobSpecLine {
  protocol: string
  host: string
  port: number | string
  path: string
  concurrency?: number
  metadata?: Array<{ key: string, value: string }>
}

interface RecordData {
  id: string | number
  body: string
}

const JOB_ID = 'job-bullmq-peer'
const QUEUE = 'chronos-bench-peer'
/** Jobs per addBulk: one MULTI of this many adds, so a chunk is ~1,000 × 0.3 kB on the wire. */
const ENQUEUE_CHUNK = 1000
const MAX_LINE_BYTES = 1024 * 1024

async function readSpec (file: string): Promise<JobSpecLine> {
  const lines = createReadStream(file).pipe(split2({ maxLength: MAX_LINE_BYTES }))
  for await (const line of lines as AsyncIterable<string>) {
    if (line.trim() === '') continue
    lines.destroy()
    return JSON.parse(line) as JobSpecLine
  }
  throw new Error(`${file}: no JobSpec line`)
}

async function main (): Promise<void> {
  const [file, redisUrl] = process.argv.slice(2)
  if (file === undefined || redisUrl === undefined || process.send === undefined) {
    throw new Error('usage: peer.ts upload.ndjson redis://host:port (started with an IPC channel)')
  }
  const spec = await readSpec(file)
  const concurrency = spec.concurrency ?? 4
  const origin = `${spec.protocol}://${spec.host}:${spec.port}`
  const headers: Record<string, string> = {}
  for (const { key, value } of spec.metadata ?? []) headers[key] = value
  const pool = new Pool(origin, {
    connections: concurrency,
    pipelining: 1,
    connect: { timeout: 10_000 },
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
    keepAliveTimeout: 60_000
  })
  const url = new URL(redisUrl)
  const connection = { host: url.hostname, port: Number(url.port) }

  const deliver = async (job: Job<RecordData>): Promise<void> => {
    const res = await pool.request({
      origin,
      path: spec.path,
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'user-agent': 'chronos-bench-peer/1',
        'idempotency-key': `${JOB_ID}:${job.data.id}`,
        'x-chronos-job-id': JOB_ID,
        'x-chronos-record-id': String(job.data.id),
        ...headers
      },
      body: job.data.body
    })
    await res.body.dump()
    if (res.statusCode < 200 || res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`)
  }

  const worker = new Worker<RecordData>(QUEUE, deliver, {
    connection,
    concurrency,
    removeOnComplete: { count: 1000 },
    removeOnFail: { count: 5000 }
  })
  const queue = new Queue<RecordData>(QUEUE, { connection })
  let succeeded = 0
  let failed = 0
  let enqueued = 0
  let isEnqueueDone = false
  let finish: () => void = () => {}
  const allDone = new Promise<void>((resolve) => { finish = resolve })
  const maybeDone = (): void => { if (isEnqueueDone && succeeded + failed >= enqueued) finish() }
  worker.on('completed', () => { succeeded++; maybeDone() })
  worker.on('failed', () => { failed++; maybeDone() })
  worker.on('error', (err) => process.stderr.write(`peer worker: ${err.message}\n`))
  await worker.waitUntilReady()
  await queue.waitUntilReady()

  process.send({ ready: true })
  await once(process, 'message')

  const startedAt = performance.now()
  const cpuAtStart = process.cpuUsage()
  const schedAtStart = readSched(process.pid)
  let chunk: Array<{ name: string, data: RecordData }> = []
  let isSpecLine = true
  const lines = createReadStream(file, { highWaterMark: 256 * 1024 }).pipe(split2({ maxLength: MAX_LINE_BYTES }))
  for await (const line of lines as AsyncIterable<string>) {
    if (line.trim() === '') continue
    if (isSpecLine) { isSpecLine = false; continue }
    const record = JSON.parse(line) as { id: string | number, payload: unknown }
    chunk.push({ name: 'deliver', data: { id: record.id, body: typeof record.payload === 'string' ? record.payload : JSON.stringify(record.payload) } })
    if (chunk.length >= ENQUEUE_CHUNK) {
      await queue.addBulk(chunk)
      enqueued += chunk.length
      chunk = []
    }
  }
  if (chunk.length > 0) await queue.addBulk(chunk)
  enqueued += chunk.length
  const enqueueMs = performance.now() - startedAt
  isEnqueueDone = true
  maybeDone()
  await allDone

  const ms = performance.now() - startedAt
  const cpu = process.cpuUsage(cpuAtStart)
  const mainThread = shareBetween(schedAtStart, readSched(process.pid))
  const result: PeerResult = {
    records: enqueued,
    succeeded,
    failed,
    ms,
    recordsPerSec: enqueued / (ms / 1000),
    enqueueMs,
    cpuUsPerRecord: (cpu.user + cpu.system) / Math.max(1, enqueued),
    mainThread
  }
  await worker.close()
  await queue.close()
  await pool.close()
  process.stdout.write(JSON.stringify(result) + '\n')
  process.disconnect()
}

await main()
