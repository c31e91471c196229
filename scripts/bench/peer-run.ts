/**
 * One measured BullMQ run of the peer scenario: start peer.ts, wait until its worker is
 * connected, read the bench Redis's used_memory (the baseline, with BullMQ's connections
 * open, as Chronos's is read with its server up), then let it go and sample used_memory
 * every POLL_MS until it ends. Verified like a raw run: every job succeeded and the target
 * saw at least N requests. The caller FLUSHALLs the bench Redis first.
 */
import { once } from 'node:events'
import { join } from 'node:path'
import { isRunning, runToEnd, spawnTs, stopChild, type Child } from './children.js'
import type { Fixture } from './make-fixture.js'
import { readCounters, sampleUsedMemory, type BenchRedis } from './redis.js'
import type { PeerRunResult } from './report.js'
import type { Target } from './targets.js'

export interface PeerRunOptions {
  benchDir: string
  workDir: string
  redis: BenchRedis
  fixture: Fixture
  target: Target
}

const POLL_MS = 100
const READY_TIMEOUT_MS = 30_000

export async function runPeer (options: PeerRunOptions): Promise<PeerRunResult> {
  const { fixture, redis } = options
  const result: PeerRunResult = {
    ok: false,
    error: null,
    records: fixture.records,
    ms: null,
    recordsPerSec: null,
    cpuUsPerRecord: null,
    delivered: null,
    mainThread: null,
    enqueueMs: null,
    usedMemoryPeakPerRecord: null,
    usedMemoryPerRecord: null,
    redisCpuUsPerRecord: null
  }
  let memory: ReturnType<typeof sampleUsedMemory> | undefined
  let child: Child | undefined
  try {
    child = await spawnTs('bench-peer', join(options.benchDir, 'peer.ts'), [fixture.file, redis.url], {
      captureStdout: true, ipc: true, logFile: join(options.workDir, 'bench-peer.log')
    })
    // runToEnd collects stdout from here on and kills the child on a timeout or a failure.
    const ended = runToEnd(child, 60_000 + fixture.records)
    // Both settle to a tag, so the loser of the race never leaves a rejection unhandled.
    const ready = once(child.proc, 'message', { signal: AbortSignal.timeout(READY_TIMEOUT_MS) }).then(() => 'ready' as const, () => 'timeout' as const)
    const first = await Promise.race([ready, ended.then(() => 'ended' as const, () => 'ended' as const)])
    if (first !== 'ready') {
      if (first === 'timeout') await stopChild(child, 2000)
      await ended
      throw new Error(`bench-peer ${first === 'timeout' ? `not ready after ${READY_TIMEOUT_MS} ms` : 'ended before it was ready'}`)
    }
    const requestsBefore = await options.target.requests()
    const before = await readCounters(redis.client)
    memory = sampleUsedMemory(redis.client, POLL_MS)
    child.proc.send('go')
    const out = await ended
    const peak = await memory.stop()
    const after = await readCounters(redis.client)
    const run = JSON.parse(out.trim().split('\n').pop() ?? '{}') as Pick<PeerRunResult, 'ms' | 'recordsPerSec' | 'cpuUsPerRecord' | 'mainThread' | 'enqueueMs'> & { succeeded: number }
    Object.assign(result, {
      ms: run.ms,
      recordsPerSec: run.recordsPerSec,
      cpuUsPerRecord: run.cpuUsPerRecord,
      mainThread: run.mainThread,
      enqueueMs: run.enqueueMs,
      usedMemoryPeakPerRecord: Number.isFinite(peak.peak) ? Math.max(0, peak.peak - before.usedMemory) / fixture.records : null,
      usedMemoryPerRecord: (after.usedMemory - before.usedMemory) / fixture.records,
      redisCpuUsPerRecord: (after.cpuUs - before.cpuUs) / fixture.records
    })
    result.delivered = (await options.target.requests()) - requestsBefore
    result.error = run.succeeded !== fixture.records
      ? `succeeded ${run.succeeded} != ${fixture.records}`
      : result.delivered < fixture.records ? `target saw ${result.delivered} < ${fixture.records}` : null
    result.ok = result.error === null
  } catch (err) {
    result.error = err instanceof Error ? err.message : String(err)
  } finally {
    await memory?.stop()
    if (child !== undefined && isRunning(child)) await stopChild(child, 2000)
  }
  return result
}
