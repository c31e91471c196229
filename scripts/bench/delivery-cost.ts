/**
 * The delivery path's CPU cost per record, in one process, for A/B of small changes.
 *
 * Usage: tsx scripts/bench/delivery-cost.ts chronos|raw targetPort [records] [warmRecords] [concurrency]
 *
 * Writes a bench upload (make-fixture.ts) of `records` and one of `warmRecords`, then runs
 * the warm-up job and the measured job one after the other: `chronos` through the real
 * JobRun (spool → split2 → … → sender → status sink) wired as lib/deps.ts wires it, but
 * with an outcome store that keeps nothing (no Redis), `raw` through raw.ts's loop. The target (target.ts) runs apart,
 * so its CPU is not counted. Stdout: one JSON line with the measured job's CPU µs per
 * record (`process.cpuUsage()`, main thread and V8's helper threads alike) and rec/s.
 *
 * Instruction counts, which do not depend on the machine's load: run it under
 * `valgrind --tool=callgrind --zero-before=uv_os_getpriority --dump-before=uv_uptime`; the
 * dump's part 1 holds the measured job's instructions alone (every thread's), and its total
 * over `records` is the instructions per record of a warm job. With
 * DELIVERY_COST_PROFILE=out.cpuprofile it also writes a CPU profile of the measured job.
 * With DELIVERY_COST_ALLOC=out.heapprofile it writes a sampling heap profile of the measured
 * job that keeps what the GC collected too: where its bytes were allocated, garbage included.
 * With DELIVERY_COST_MARKS=1 it writes `MARK start|end <performance.now()>` to stderr, to cut
 * the measured job's lines out of `--trace-gc --trace-gc-nvp` (whose times count from about
 * the same origin). With DELIVERY_COST_SNAPSHOT=prefix it writes heap snapshots
 * (node:v8) 1.5 s into the measured job (prefix.mid), ~150 ms later (prefix.mid2) and after
 * it (prefix.end): objects in mid but not in end are the job's, with `concurrency` attempts
 * out; ids in both mid and mid2 lived through the gap.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { getPriority, tmpdir, uptime } from 'node:os'
import { join } from 'node:path'
import { readFileSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { writeHeapSnapshot } from 'node:v8'
import { makeFixture } from './make-fixture.js'
import { runRaw } from './raw.js'
import { JobRun } from '../../lib/runner/run-job.js'
import { parseJobSpec } from '../../lib/domain/job-spec.js'
import { createLogger } from '../../lib/logger.js'
import type { OutcomeStore } from '../../lib/store/outcome-store.js'
import { InFlightBudget } from '../../lib/pipeline/in-flight-budget.js'
import { Metrics } from '../../lib/http/metrics.js'
import { createGuardedConnector } from '../../lib/delivery/guarded-connector.js'
import { createTargetPolicy } from '../../lib/delivery/target-policy.js'

const [side, portArg, recordsArg, warmArg, concurrencyArg] = process.argv.slice(2)
const port = Number(portArg)
const records = Number(recordsArg ?? 20_000)
const warmRecords = Number(warmArg ?? 5_000)
const concurrency = Number(concurrencyArg ?? 64)
if ((side !== 'chronos' && side !== 'raw') || !Number.isInteger(port)) {
  throw new Error('usage: delivery-cost.ts chronos|raw targetPort [records] [warmRecords] [concurrency]')
}

/** Counts what it is given and keeps nothing: the sink's packing runs, Redis does not. */
const outcomeStore = {
  async write (_jobId: string, packed: string | Buffer): Promise<number> {
    return packed.length
  },
  async readDoneBits (): Promise<Buffer> {
    return Buffer.alloc(0)
  }
} as unknown as OutcomeStore

// What lib/deps.ts gives every run: the instance's budget (CHRONOS_MAX_IN_FLIGHT's default),
// the outcome metrics, the guarded connector with an open target policy.
const budget = new InFlightBudget(512)
const metrics = new Metrics({
  jobsByState: () => ({}), inFlightRequests: () => 0, leases: () => ({ held: 0, takeovers: 0, fenced: 0 }), isRedisUp: () => true, jobSignals: () => [], circuitOpens: () => 0
})
const policy = createTargetPolicy([])

async function runChronos (file: string): Promise<void> {
  const parsed = parseJobSpec(JSON.parse(readFileSync(file, 'utf8').slice(0, 4096).split('\n')[0] ?? ''), {
    defaultConcurrency: 8, maxConcurrency: 1024, defaultTimeoutMs: 30_000, defaultMaxAttempts: 3
  })
  if (!parsed.ok) throw new Error(parsed.problems.join('; '))
  const run = new JobRun({
    jobId: 'job-delivery-cost',
    spec: parsed.spec,
    spoolPath: file,
    isResume: false,
    maxLineBytes: 1024 * 1024,
    outcomeBatchSize: 1000,
    flushIntervalMs: 300,
    outcomeStore,
    createConnector: (spec) => createGuardedConnector({ policy, port: spec.port, timeoutMs: Math.min(spec.timeoutMs, 10_000) }),
    onOutcome: (outcome) => metrics.recordOutcome(outcome),
    budget,
    owner: '',
    log: createLogger({ level: 'silent' })
  })
  const end = await run.run()
  if (end !== 'completed') throw new Error(`run ended ${end}`)
}

async function runOne (file: string): Promise<void> {
  if (side === 'chronos') await runChronos(file)
  else {
    const result = await runRaw(file)
    if (result.failed > 0) throw new Error(`${result.failed} records failed`)
  }
}

/** When the variable `env` names a file, an inspector session records the measured job into it; returns its stop. */
async function startRecording (env: string, begin: (session: Session) => Promise<void>, end: (session: Session) => Promise<object>): Promise<(() => Promise<void>) | null> {
  const file = process.env[env]
  if (file === undefined) return null
  const session = new Session()
  session.connect()
  await begin(session)
  return async () => {
    writeFileSync(file, JSON.stringify(await end(session)))
    session.disconnect()
  }
}

/** DELIVERY_COST_PROFILE=file.cpuprofile: a CPU profile. */
const startProfiler = async (): Promise<(() => Promise<void>) | null> => await startRecording('DELIVERY_COST_PROFILE', async (session) => {
  await session.post('Profiler.enable')
  await session.post('Profiler.setSamplingInterval', { interval: 200 })
  await session.post('Profiler.start')
}, async (session) => (await session.post('Profiler.stop')).profile)

/** DELIVERY_COST_ALLOC=file.heapprofile: sampled allocations, garbage included. */
const startAllocationSampling = async (): Promise<(() => Promise<void>) | null> => await startRecording('DELIVERY_COST_ALLOC', async (session) => {
  await session.post('HeapProfiler.enable')
  await session.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true })
}, async (session) => (await session.post('HeapProfiler.stopSampling')).profile)

function mark (what: 'start' | 'end', at: number): void {
  if (process.env['DELIVERY_COST_MARKS'] !== undefined) process.stderr.write(`MARK ${what} ${at}\n`)
}

/** Two snapshots mid-job; the second waits a turn first, so its timer counts from after the first. */
function takeSnapshotsMidJob (prefix: string): void {
  setTimeout(() => {
    writeHeapSnapshot(`${prefix}.mid.heapsnapshot`)
    setImmediate(() => setTimeout(() => writeHeapSnapshot(`${prefix}.mid2.heapsnapshot`), 150))
  }, 1500)
}

const dir = await mkdtemp(join(tmpdir(), 'delivery-cost-'))
try {
  const warm = await makeFixture({ records: Math.max(1, warmRecords), file: join(dir, 'warm.ndjson'), targetPort: port, concurrency })
  const measured = await makeFixture({ records: Math.max(1, records), file: join(dir, 'measured.ndjson'), targetPort: port, concurrency })
  await runOne(warm.file)
  // Marks for callgrind (--zero-before=uv_os_getpriority --dump-before=uv_uptime): its
  // counts start here and the measured job's are dumped as a part of their own.
  getPriority()
  const profiler = await startProfiler()
  const sampler = await startAllocationSampling()
  const cpuAt = process.cpuUsage()
  const startedAt = performance.now()
  mark('start', startedAt)
  const snapshot = process.env['DELIVERY_COST_SNAPSHOT']
  if (snapshot !== undefined) takeSnapshotsMidJob(snapshot)
  if (records > 0) await runOne(measured.file)
  const cpu = process.cpuUsage(cpuAt)
  // Before the recorders stop: writing a profile out takes a while and is not the job's.
  const ms = performance.now() - startedAt
  await profiler?.()
  await sampler?.()
  uptime()
  mark('end', startedAt + ms)
  if (snapshot !== undefined) writeHeapSnapshot(`${snapshot}.end.heapsnapshot`)
  process.stdout.write(JSON.stringify({
    side,
    records,
    cpuUsPerRecord: records > 0 ? (cpu.user + cpu.system) / records : 0,
    recordsPerSec: records > 0 ? records / (ms / 1000) : 0
  }) + '\n')
} finally {
  await rm(dir, { recursive: true, force: true })
}
