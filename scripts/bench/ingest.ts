/**
 * The ingest scenario: how fast an upload is accepted (request start → 202).
 *
 * raw:     scripts/bench/ingest-raw.ts, pipe to a file + fsync, no parsing at all;
 * chronos: POST /run on a fresh server (validate every line, or parse the JSON document
 *          with stream-json, spool, fsync, register).
 * Both are sent the same file, NDJSON or JSON, with its Content-Type, by the same client
 * code (http.ts postFile). MB/s uses 10^6 bytes of upload; CPU ms/MB is the server
 * process's user + system CPU time from the request to its answer, which a busy machine
 * moves less than MB/s. The upload may take at most
 * 180 s or 1 s per MB, whichever is longer (a 1 GB JSON upload runs for minutes). After the Chronos 202 its job starts delivering; that is
 * not measured: the job is cancelled (DELETE /jobs/:id, ignored if the route is absent),
 * the process stopped and its spool directory removed.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { readReadyLine, spawnTs, stopChild } from './children.js'
import { readCpuUs, startChronos } from './chronos.js'
import { callJson, postFile } from './http.js'
import type { Fixture } from './make-fixture.js'

export interface IngestResult {
  ok: boolean
  error: string | null
  ms: number | null
  mbPerSec: number | null
  /** Absent in results written before it was measured. */
  cpuMsPerMB?: number | null
}

export interface IngestRawServer {
  url: string
  pid: number
  stop: () => Promise<void>
}

/** 180 s, or 1 ms per KB (1 MB/s) for larger uploads. */
const uploadTimeoutMs = (fixture: Fixture): number => Math.max(180_000, fixture.bytes / 1000)

export async function startIngestRaw (benchDir: string, workDir: string): Promise<IngestRawServer> {
  const spoolDir = join(workDir, 'ingest-raw')
  mkdirSync(spoolDir, { recursive: true })
  const child = await spawnTs('ingest-raw', join(benchDir, 'ingest-raw.ts'), [spoolDir, '0'], {
    captureStdout: true, logFile: join(workDir, 'ingest-raw.log')
  })
  const { port } = await readReadyLine<{ port: number }>(child, 15_000)
  return { url: `http://127.0.0.1:${port}/run`, pid: child.pid, stop: async () => { await stopChild(child, 2000) } }
}

function measured (fixture: Fixture, ms: number, cpuUsBefore: number | null, pid: number): IngestResult {
  const cpuUsAfter = readCpuUs(pid)
  const cpuMsPerMB = cpuUsBefore === null || cpuUsAfter === null ? null : (cpuUsAfter - cpuUsBefore) / 1000 / (fixture.bytes / 1e6)
  return { ok: true, error: null, ms, mbPerSec: fixture.bytes / 1e6 / (ms / 1000), cpuMsPerMB }
}

function failed (err: unknown): IngestResult {
  return { ok: false, error: err instanceof Error ? err.message : String(err), ms: null, mbPerSec: null, cpuMsPerMB: null }
}

export async function runIngestRaw (server: IngestRawServer, fixture: Fixture): Promise<IngestResult> {
  try {
    const cpuUs = readCpuUs(server.pid)
    const answer = await postFile(server.url, fixture, uploadTimeoutMs(fixture))
    const written = (answer.body as { bytes?: number } | null)?.bytes
    if (answer.status !== 202 || written !== fixture.bytes) throw new Error(`ingest-raw answered ${answer.status}, wrote ${String(written)} bytes`)
    return measured(fixture, answer.ms, cpuUs, server.pid)
  } catch (err) {
    return failed(err)
  }
}

export async function runIngestChronos (repoDir: string, workDir: string, redisUrl: string, runId: string, fixture: Fixture): Promise<IngestResult & { peakRssBytes: number | null }> {
  const server = await startChronos(repoDir, workDir, redisUrl, runId)
  let result: IngestResult
  try {
    const cpuUs = readCpuUs(server.child.pid)
    const answer = await postFile(`${server.url}/run`, fixture, uploadTimeoutMs(fixture))
    const body = answer.body as { job_id?: string, records?: number } | null
    if (answer.status !== 202 || body?.records !== fixture.records) {
      throw new Error(`POST /run answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`)
    }
    result = measured(fixture, answer.ms, cpuUs, server.child.pid)
    if (typeof body.job_id === 'string') {
      await callJson('DELETE', `${server.url}/jobs/${encodeURIComponent(body.job_id)}`, 5000).catch(() => undefined)
    }
  } catch (err) {
    result = failed(err)
  }
  const stop = await server.stop()
  return { ...result, peakRssBytes: stop.peakRssBytes }
}
