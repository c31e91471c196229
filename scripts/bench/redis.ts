/**
 * The benchmark's own Redis: a throw-away redis-server on a free port, never the shared
 * one on 6379, with persistence off (`--save '' --appendonly no`) so no fork or disk
 * write lands in the middle of a timed run. Also reads the counters the report needs.
 *
 * What is counted (INFO, Redis 7):
 * - `total_reads_processed`: socket read events. A request batch that arrives together
 *   (one command, a pipeline, or a MULTI…EXEC sent in one write) is one read, so this is
 *   the closest server-side count of network round trips; we report it as "round trips".
 * - `total_commands_processed`: every executed command, including MULTI and EXEC and each
 *   command inside them, and each redis.call() inside an EVAL/EVALSHA besides the EVALSHA
 *   itself: an upper bound, reported as "commands".
 * Each INFO we send is itself one read and one command; `diffCounters` removes it.
 */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { freePort } from '../../spec/helpers/processes.js'
import { spawnChild, stopChild, waitForPort, type Child } from './children.js'

export interface RedisCounters {
  reads: number
  commands: number
  usedMemory: number
  /** Redis's own CPU time (used_cpu_user + used_cpu_sys), µs: where a Lua-heavy client's work goes. */
  cpuUs: number
  commandCalls: Record<string, number>
}

export interface BenchRedis {
  url: string
  version: string
  client: Redis
  stop: () => Promise<void>
}

export async function startRedis (workDir: string): Promise<BenchRedis> {
  const port = await freePort()
  const dir = join(workDir, 'redis')
  mkdirSync(dir, { recursive: true })
  const child: Child = await spawnChild('redis', 'redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', dir
  ], { logFile: join(workDir, 'redis.log') })
  await waitForPort(port, 5000, child)
  const client = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    maxRetriesPerRequest: 2,
    retryStrategy: (attempt) => (attempt > 50 ? null : 100)
  })
  await client.connect()
  const server = parseInfo(await client.info('server'))
  return {
    url: `redis://127.0.0.1:${port}`,
    version: server['redis_version'] ?? 'unknown',
    client,
    stop: async () => {
      client.disconnect()
      await stopChild(child, 3000)
    }
  }
}

function parseInfo (text: string): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':')
    if (colon > 0 && !line.startsWith('#')) fields[line.slice(0, colon)] = line.slice(colon + 1)
  }
  return fields
}

export async function readCounters (client: Redis): Promise<RedisCounters> {
  // One INFO with four sections: one read, one command, consistent numbers.
  const text = await client.call('INFO', 'stats', 'memory', 'commandstats', 'cpu') as string
  const fields = parseInfo(text)
  const commandCalls: Record<string, number> = {}
  for (const [key, value] of Object.entries(fields)) {
    if (key.startsWith('cmdstat_')) commandCalls[key.slice(8)] = Number(/calls=(\d+)/.exec(value)?.[1] ?? 0)
  }
  return {
    reads: Number(fields['total_reads_processed'] ?? NaN),
    commands: Number(fields['total_commands_processed'] ?? NaN),
    usedMemory: Number(fields['used_memory'] ?? NaN),
    cpuUs: (Number(fields['used_cpu_user'] ?? NaN) + Number(fields['used_cpu_sys'] ?? NaN)) * 1e6,
    commandCalls
  }
}

/** after − before, minus the one read and one command of the `before` INFO itself. */
export function diffCounters (before: RedisCounters, after: RedisCounters): RedisCounters {
  const commandCalls: Record<string, number> = {}
  for (const [name, calls] of Object.entries(after.commandCalls)) {
    const delta = calls - (before.commandCalls[name] ?? 0) - (name === 'info' ? 1 : 0)
    if (delta > 0) commandCalls[name] = delta
  }
  return {
    reads: after.reads - before.reads - 1,
    commands: after.commands - before.commands - 1,
    usedMemory: after.usedMemory - before.usedMemory,
    cpuUs: after.cpuUs - before.cpuUs,
    commandCalls
  }
}

/**
 * MEMORY USAGE summed over one job's keys (`<prefix>:job:{<jobId>}:*`): what the job itself
 * holds in Redis, without the allocator's and clients' transient memory that a used_memory
 * delta also catches.
 */
export async function jobKeyBytes (client: Redis, prefix: string, jobId: string): Promise<number> {
  let total = 0
  let cursor = '0'
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `${prefix}:job:{${jobId}}:*`, 'COUNT', 1000)
    cursor = next
    for (const key of keys) total += Number(await client.call('MEMORY', 'USAGE', key, 'SAMPLES', '0') ?? 0)
  } while (cursor !== '0')
  return total
}

export interface MemoryPeak {
  /** The highest used_memory seen, in bytes (NaN when no sample answered). */
  peak: number
  /** INFO calls made: each is one read and one command on the server's counters. */
  samples: number
}

/**
 * Samples INFO memory's used_memory every `everyMs` until stop(), for the peak of a run:
 * a queue that holds its records (the peer scenario) peaks while it is full, long before
 * the run's end, so an after-minus-before delta would miss it. Redis's own
 * used_memory_peak outlives FLUSHALL, so it would show an earlier run's peak.
 */
export function sampleUsedMemory (client: Redis, everyMs: number): { stop: () => Promise<MemoryPeak> } {
  const result: MemoryPeak = { peak: NaN, samples: 0 }
  const state = { isStopped: false }
  const sample = async (): Promise<void> => {
    result.samples++
    const used = Number(parseInfo(await client.info('memory'))['used_memory'])
    if (Number.isFinite(used) && !(used <= result.peak)) result.peak = used
  }
  const loop = (async () => {
    while (!state.isStopped) {
      await sample().catch(() => undefined)
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  })()
  let stopped: Promise<MemoryPeak> | undefined
  return {
    // Idempotent: a run's error path stops it again so no timer outlives the run.
    stop: async () => {
      state.isStopped = true
      stopped ??= loop.then(async () => {
        // One more at the end, so a run shorter than one interval still has its top.
        await sample().catch(() => undefined)
        return result
      })
      return await stopped
    }
  }
}
