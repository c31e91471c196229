/**
 * The ceiling: the plainest fast client that does Chronos's per-record delivery work.
 *
 * Usage: tsx scripts/bench/raw.ts upload.ndjson [concurrency]
 *
 * Reads an upload made by make-fixture.ts: line 1 (the JobSpec) gives the target origin,
 * path, metadata headers and, unless overridden, the concurrency C. Every further
 * non-blank line is JSON.parsed and its payload POSTed with an undici `Pool` keeping C
 * requests in flight; each response body is dumped before the slot is reused. It sends
 * the same header set Chronos sends (DESIGN §2), so the target does the same work per
 * request for both sides. No Redis, no spool, no retries: that is what makes it the
 * ceiling.
 *
 * Flow control is event-driven (pause the line stream at C in flight, resume when a
 * slot frees) rather than `for await`, to keep one promise per request and nothing per
 * line. Stdout: one JSON line {records, succeeded, failed, ms, recordsPerSec,
 * cpuUsPerRecord, mainThread} (mainThread: schedstat.ts, read by this process itself). A broken
 * file or target makes it exit non-zero; failed responses are counted, not fatal.
 */
import { createReadStream } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { pipeline } from 'node:stream'
import split2 from 'split2'
import { Pool, type Dispatcher } from 'undici'
import { readSched, shareBetween, type MainThreadShare } from './schedstat.js'

interface Target {
  origin: string
  path: string
  headers: Record<string, string>
  concurrency: number
}

export interface RawResult {
  records: number
  succeeded: number
  failed: number
  ms: number
  recordsPerSec: number
  /** This process's CPU time (user + system) per record, in microseconds. */
  cpuUsPerRecord: number
  mainThread: MainThreadShare | null
}

const JOB_ID = 'job-raw-baseline'
const MAX_LINE_BYTES = 1024 * 1024

function parseTarget (line: string, concurrencyOverride: number | undefined): Target {
  const spec = JSON.parse(line) as {
    protocol: string,
    host: string,
    port: number | string,
    path: string,
    concurrency?: number,
    metadata?: Array<{ key: string, value: string }>
  }
  const headers: Record<string, string> = {}
  for (const { key, value } of spec.metadata ?? []) headers[key] = value
  return {
    origin: `${spec.protocol}://${spec.host}:${spec.port}`,
    path: spec.path,
    headers,
    concurrency: concurrencyOverride ?? spec.concurrency ?? 4
  }
}

export function runRaw (file: string, concurrencyOverride?: number): Promise<RawResult> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now()
    const cpuAtStart = process.cpuUsage()
    const schedAtStart = readSched(process.pid)
    let target: Target | undefined
    let pool: Pool | undefined
    let inFlight = 0
    let records = 0
    let succeeded = 0
    let failed = 0
    let isReadDone = false
    let isSettled = false

    const lines = pipeline(createReadStream(file, { highWaterMark: 256 * 1024 }), split2({ maxLength: MAX_LINE_BYTES }), (err) => {
      if (err !== null && err !== undefined) return fail(err)
      isReadDone = true
      maybeFinish()
    })

    function fail (err: unknown): void {
      if (isSettled) return
      isSettled = true
      lines.destroy()
      pool?.destroy().catch(() => {})
      reject(err)
    }

    function maybeFinish (): void {
      if (!isReadDone || inFlight > 0 || isSettled) return
      isSettled = true
      const ms = performance.now() - startedAt
      const cpu = process.cpuUsage(cpuAtStart)
      const cpuUsPerRecord = (cpu.user + cpu.system) / Math.max(1, records)
      const mainThread = shareBetween(schedAtStart, readSched(process.pid))
      const done = (): void => resolve({ records, succeeded, failed, ms, recordsPerSec: records / (ms / 1000), cpuUsPerRecord, mainThread })
      if (pool === undefined) done()
      else pool.close().then(done, reject)
    }

    function release (): void {
      inFlight--
      if (target !== undefined && inFlight < target.concurrency && lines.isPaused()) lines.resume()
      maybeFinish()
    }

    function onResponse (res: Dispatcher.ResponseData): void {
      if (res.statusCode >= 200 && res.statusCode < 300) succeeded++
      else failed++
      // The slot is free only once the body is drained and the socket can be reused.
      res.body.dump().then(release, release)
    }

    function onRequestError (): void {
      failed++
      release()
    }

    lines.on('data', (line: string) => {
      if (line.trim() === '') return
      if (target === undefined) {
        target = parseTarget(line, concurrencyOverride)
        // One connection per in-flight request, no pipelining: what Chronos's Pool does.
        pool = new Pool(target.origin, {
          connections: target.concurrency,
          pipelining: 1,
          connect: { timeout: 10_000 },
          headersTimeout: 30_000,
          bodyTimeout: 30_000,
          keepAliveTimeout: 60_000
        })
        return
      }
      const record = JSON.parse(line) as { id: string | number, payload: unknown }
      const body = typeof record.payload === 'string' ? record.payload : JSON.stringify(record.payload)
      records++
      inFlight++
      pool?.request({
        origin: target.origin,
        path: target.path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'chronos-bench-raw/1',
          'idempotency-key': `${JOB_ID}:${record.id}`,
          'x-chronos-job-id': JOB_ID,
          'x-chronos-record-id': String(record.id),
          ...target.headers
        },
        body
      }).then(onResponse, onRequestError)
      if (inFlight >= target.concurrency) lines.pause()
    })
  })
}

async function main (): Promise<void> {
  const [file, concurrency] = process.argv.slice(2)
  if (file === undefined) throw new Error('usage: raw.ts upload.ndjson [concurrency]')
  const result = await runRaw(file, concurrency === undefined ? undefined : Number(concurrency))
  process.stdout.write(JSON.stringify(result) + '\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main()
