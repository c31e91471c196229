/**
 * One measured Chronos run: POST the upload, time from the 202 to `state: completed`,
 * verify the counts, and collect the side measurements the issue asks for.
 *
 * Order matters:
 * 1. the caller FLUSHALLs the bench Redis, then this starts a fresh server;
 * 2. Redis counters before; target request count before;
 * 3. POST /run (streamed), clock starts at the 202;
 * 4. GET /status every POLL_MS until a terminal state or the deadline (then DELETE);
 * 5. Redis counters after (round trips, commands, used_memory delta);
 * 6. the Redis cost of one GET /status, measured on the idle server, so our own polling
 *    can be subtracted from the round-trip figure;
 * 7. GET /info (event_loop_delay_p99_ms), target count after, VmHWM, SIGTERM.
 * Between 2 and 5 used_memory is sampled every POLL_MS for its peak (the peer scenario
 * compares it with BullMQ's), and the main thread's schedstat is read at the 202 and at
 * the end (schedstat.ts); the sampler's INFO calls are taken out of the counts.
 * Elapsed time: the poll that saw `completed` bounds it from above; when the status
 * carries `finished_at` inside that window we use it instead, removing up to one poll
 * interval of error (both clocks are this machine's wall clock).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { isRunning, logTail } from './children.js'
import { readCpuUs, startChronos } from './chronos.js'
import { callJson, postFile } from './http.js'
import { diffCounters, jobKeyBytes, readCounters, sampleUsedMemory } from './redis.js'
import { readSched, shareBetween, type MainThreadShare } from './schedstat.js'
import type { Target } from './targets.js'
import type { Fixture } from './make-fixture.js'

export interface ChronosRunResult {
  ok: boolean
  error: string | null
  records: number
  uploadMs: number | null
  ms: number | null
  recordsPerSec: number | null
  /** From the start of the upload to completion: what a user waits for (the peer scenario's clock). */
  endToEndMs: number | null
  endToEndRecordsPerSec: number | null
  /** The server's main thread from the 202 to completion (schedstat.ts). */
  mainThread: MainThreadShare | null
  /** The server's CPU time (user + system) from the 202 to completion, per record, µs. */
  cpuUsPerRecord: number | null
  /** The server's CPU time from the start of the upload to completion, per record, µs. */
  endToEndCpuUsPerRecord: number | null
  finalStatus: Record<string, unknown> | null
  delivered: number | null
  redis: {
    roundTrips: number
    commands: number
    pollRoundTrips: number
    pollCommands: number
    roundTripsPerRecord: number
    commandsPerRecord: number
    bytesPerRecord: number
    /** used_memory delta per record (also counts allocator and client buffers). */
    usedMemoryPerRecord: number
    /** The highest used_memory sampled from before the upload to the end, minus before, per record. */
    usedMemoryPeakPerRecord: number | null
    /** Redis's CPU time over the whole job (upload to the end), per record, µs. */
    cpuUsPerRecord: number
    commandCalls: Record<string, number>
  } | null
  eventLoopP99Ms: number | null
  statusPollP99Ms: number | null
  polls: number
  peakRssBytes: number | null
  stopMs: number | null
  wasKilled: boolean
}

export interface ChronosRunOptions {
  repoDir: string
  workDir: string
  redisUrl: string
  redis: Redis
  runId: string
  fixture: Fixture
  target: Target
  timeoutMs: number
  /** Extra server settings (CHRONOS_TLS_CA_FILE for the https scenario). */
  env?: Record<string, string>
}

const POLL_MS = 100
const POLL_COST_SAMPLES = 5
const MAX_POLL_ERRORS = 20
const TERMINAL = new Set(['completed', 'cancelled', 'failed'])

export async function runChronos (options: ChronosRunOptions): Promise<ChronosRunResult> {
  const { fixture, redis } = options
  const result: ChronosRunResult = {
    ok: false,
    error: null,
    records: fixture.records,
    uploadMs: null,
    ms: null,
    recordsPerSec: null,
    endToEndMs: null,
    endToEndRecordsPerSec: null,
    mainThread: null,
    cpuUsPerRecord: null,
    endToEndCpuUsPerRecord: null,
    finalStatus: null,
    delivered: null,
    redis: null,
    eventLoopP99Ms: null,
    statusPollP99Ms: null,
    polls: 0,
    peakRssBytes: null,
    stopMs: null,
    wasKilled: false
  }
  const server = await startChronos(options.repoDir, options.workDir, options.redisUrl, options.runId, options.env)
  let memory: ReturnType<typeof sampleUsedMemory> | undefined
  try {
    const before = await readCounters(redis)
    const requestsBefore = await options.target.requests()
    memory = sampleUsedMemory(redis, POLL_MS)
    const cpuAtUpload = readCpuUs(server.child.pid)
    const upload = await postFile(`${server.url}/run`, fixture, 120_000)
    const acceptedAtWall = Date.now()
    const acceptedAt = performance.now()
    const cpuAtAccept = readCpuUs(server.child.pid)
    const schedAtAccept = readSched(server.child.pid)
    result.uploadMs = upload.ms
    const jobId = (upload.body as { job_id?: string } | null)?.job_id
    if (upload.status !== 202 || typeof jobId !== 'string') {
      throw new Error(`POST /run answered ${upload.status}: ${JSON.stringify(upload.body).slice(0, 300)}`)
    }

    const statusUrl = `${server.url}/status?key=${encodeURIComponent(jobId)}`
    const pollMs: number[] = []
    let status: Record<string, unknown> | null = null
    let errors = 0
    // When the last "not finished yet" poll was sent: the job cannot have finished before.
    let pendingSinceMs = 0
    const deadline = acceptedAt + options.timeoutMs
    while (performance.now() < deadline) {
      await sleep(POLL_MS)
      if (!isRunning(server.child)) throw new Error(`chronos exited mid-run${logTail(server.child)}`)
      const sentMs = performance.now() - acceptedAt
      const answer = await callJson('GET', statusUrl, 10_000).catch(() => undefined)
      if (answer === undefined || answer.status !== 200) {
        if (++errors > MAX_POLL_ERRORS) throw new Error(`GET /status failed ${errors} times (last: ${answer?.status ?? 'no answer'})`)
        continue
      }
      pollMs.push(answer.ms)
      status = answer.body as Record<string, unknown>
      if (TERMINAL.has(String(status['state']))) break
      pendingSinceMs = sentMs
    }
    const polledMs = performance.now() - acceptedAt
    const cpuAtEnd = readCpuUs(server.child.pid)
    result.mainThread = shareBetween(schedAtAccept, readSched(server.child.pid))
    const peak = await memory.stop()
    result.polls = pollMs.length + errors
    result.statusPollP99Ms = percentile(pollMs, 0.99)
    result.finalStatus = status
    const after = await readCounters(redis)

    if (status === null || !TERMINAL.has(String(status['state']))) {
      await callJson('DELETE', `${server.url}/jobs/${encodeURIComponent(jobId)}`, 5000).catch(() => undefined)
      throw new Error(`not finished after ${options.timeoutMs} ms (count ${String(status?.['count'])} of ${fixture.records})`)
    }
    result.ms = refineElapsed(pendingSinceMs, polledMs, acceptedAtWall, status['finished_at'])
    result.recordsPerSec = fixture.records / (result.ms / 1000)
    result.endToEndMs = upload.ms + result.ms
    result.endToEndRecordsPerSec = fixture.records / (result.endToEndMs / 1000)
    if (cpuAtAccept !== null && cpuAtEnd !== null) result.cpuUsPerRecord = (cpuAtEnd - cpuAtAccept) / fixture.records
    if (cpuAtUpload !== null && cpuAtEnd !== null) result.endToEndCpuUsPerRecord = (cpuAtEnd - cpuAtUpload) / fixture.records

    const pollCost = await measurePollCost(redis, statusUrl)
    const spent = diffCounters(before, after)
    // The memory sampler's INFO calls: one read and one command each, not the job's.
    spent.reads -= peak.samples
    spent.commands -= peak.samples
    if (spent.commandCalls['info'] !== undefined) spent.commandCalls['info'] -= peak.samples
    const pollRoundTrips = pollCost.reads * result.polls
    const pollCommands = pollCost.commands * result.polls
    result.redis = {
      roundTrips: spent.reads,
      commands: spent.commands,
      pollRoundTrips,
      pollCommands,
      roundTripsPerRecord: Math.max(0, spent.reads - pollRoundTrips) / fixture.records,
      commandsPerRecord: Math.max(0, spent.commands - pollCommands) / fixture.records,
      bytesPerRecord: await jobKeyBytes(redis, 'bench', jobId) / fixture.records,
      usedMemoryPerRecord: spent.usedMemory / fixture.records,
      cpuUsPerRecord: spent.cpuUs / fixture.records,
      usedMemoryPeakPerRecord: Number.isFinite(peak.peak) ? Math.max(0, peak.peak - before.usedMemory) / fixture.records : null,
      commandCalls: spent.commandCalls
    }
    const info = await callJson('GET', `${server.url}/info`, 5000).catch(() => undefined)
    result.eventLoopP99Ms = findNumber(info?.body, 'event_loop_delay_p99_ms')
    result.delivered = (await options.target.requests()) - requestsBefore
    result.error = verify(status, fixture.records, result.delivered)
    result.ok = result.error === null
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err)
  } finally {
    await memory?.stop()
    const stop = await server.stop()
    result.peakRssBytes = stop.peakRssBytes
    result.stopMs = stop.stopMs
    result.wasKilled = stop.wasKilled
  }
  return result
}

function verify (status: Record<string, unknown>, records: number, delivered: number): string | null {
  const problems: string[] = []
  if (status['state'] !== 'completed') problems.push(`state ${String(status['state'])}`)
  for (const field of ['total', 'count', 'succeeded']) {
    if (status[field] !== records) problems.push(`${field} ${String(status[field])} != ${records}`)
  }
  // At least once (DESIGN §2): duplicates are allowed, missing deliveries are not.
  if (delivered < records) problems.push(`target saw ${delivered} requests < ${records}`)
  return problems.length === 0 ? null : problems.join('; ')
}

function refineElapsed (pendingSinceMs: number, polledMs: number, acceptedAtWall: number, finishedAt: unknown): number {
  const finished = typeof finishedAt === 'string' ? Date.parse(finishedAt) : NaN
  const fromStatus = finished - acceptedAtWall
  // Accept it only inside the window it must lie in (after the last "running" answer,
  // before the "completed" one), so a clock quirk or an early stamp cannot flatter us.
  const isPlausible = Number.isFinite(fromStatus) && fromStatus >= pendingSinceMs && fromStatus <= polledMs && fromStatus > 0
  return isPlausible ? fromStatus : polledMs
}

async function measurePollCost (redis: Redis, statusUrl: string): Promise<{ reads: number, commands: number }> {
  const before = await readCounters(redis)
  for (let i = 0; i < POLL_COST_SAMPLES; i++) await callJson('GET', statusUrl, 5000)
  const spent = diffCounters(before, await readCounters(redis))
  return { reads: spent.reads / POLL_COST_SAMPLES, commands: spent.commands / POLL_COST_SAMPLES }
}

/** Finds a numeric field by name anywhere in a JSON value, so nesting in /info does not matter. */
function findNumber (value: unknown, name: string, depth = 0): number | null {
  if (value === null || typeof value !== 'object' || depth > 4) return null
  const record = value as Record<string, unknown>
  if (typeof record[name] === 'number') return record[name]
  for (const child of Object.values(record)) {
    const found = findNumber(child, name, depth + 1)
    if (found !== null) return found
  }
  return null
}

export function percentile (values: number[], p: number): number | null {
  if (values.length === 0) return null
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? null
}
