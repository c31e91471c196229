/**
 * The scenario runners of scripts/bench/main.ts: one method per kind (delivery, ingest, rss, peer).
 * Each makes (or reuses) its upload file, runs the sides in ABBA order and returns every
 * run, valid or not, for report.ts to judge. Targets are shared across scenarios;
 * the bench Redis is FLUSHALLed before each Chronos run (it is ours alone), so every
 * run starts from an empty store and its used_memory delta is its own.
 */
import { join } from 'node:path'
import { runToEnd, spawnTs } from './children.js'
import { runPeer } from './peer-run.js'
import { runChronos, type ChronosRunResult } from './chronos-run.js'
import { runIngestChronos, runIngestRaw, startIngestRaw, type IngestRawServer } from './ingest.js'
import type { BenchRedis } from './redis.js'
import { median, type DeliveryScenario, type IngestScenario, type PeerScenario, type RawRunResult, type RssScenario, type ScenarioResult, type Side } from './report.js'
import { Targets, type Target } from './targets.js'
import { makeFixture, type Fixture, type PayloadShape, type UploadFormat } from './make-fixture.js'
import { pairRatios } from './stats.js'
import { makeTestPki, type TestPki } from '../../spec/helpers/tls-certs.js'

export interface ScenarioSpec {
  name: string
  kind: ScenarioResult['kind']
  records: number
  concurrency: number
  latencyMs: number
  targetRatio: number
  /** https: the target serves a certificate from a CA made for the run; both sides trust it. @defaultValue 'http' */
  protocol?: 'http' | 'https'
  /** Ingest only: the upload's format. @defaultValue 'ndjson' */
  format?: UploadFormat
  /** Peer only: Chronos's Redis memory per record at the peak, at most this × BullMQ's. */
  memoryTargetRatio?: number
  /** Ingest only: the records' payloads (make-fixture.ts's PayloadShape). @defaultValue 'string' */
  payload?: PayloadShape
}

export interface BenchSettings {
  scale: number
  runs: number
  sides: Set<Side>
  budgetMs: number
  scenarios: ScenarioSpec[]
}

export interface BenchDirs {
  repoDir: string
  benchDir: string
  workDir: string
}

/** rival, chronos, chronos, rival, ...: ABBA order, so linear drift hits both sides alike. */
function sequence (runs: number, sides: Set<Side>, rival: Side = 'raw'): Side[] {
  const order: Side[] = []
  for (let i = 0; i < runs; i++) order.push(...(i % 2 === 0 ? [rival, 'chronos'] as const : ['chronos', rival] as const))
  return order.filter((side) => sides.has(side))
}

/** What a delivery-shaped scenario's result repeats of its spec. */
function shapeOf (spec: ScenarioSpec): Pick<DeliveryScenario, 'name' | 'records' | 'concurrency' | 'latencyMs' | 'targetRatio'> {
  return { name: spec.name, records: spec.records, concurrency: spec.concurrency, latencyMs: spec.latencyMs, targetRatio: spec.targetRatio }
}

const fmt = (value: number | null, digits = 0): string => (value === null ? 'n/a' : value.toLocaleString('en-US', { maximumFractionDigits: digits }))

export class ScenarioRunner {
  /** Runs not made because BENCH_BUDGET_S had passed; any of them makes the exit code 1. */
  readonly skipped: string[] = []
  readonly #fixtures = new Map<string, Fixture>()
  readonly #settings: BenchSettings
  readonly #dirs: BenchDirs
  readonly #redis: BenchRedis
  readonly #targets: Targets
  readonly #progress: (text: string) => void
  #runCount = 0
  #pki: TestPki | null = null

  constructor (settings: BenchSettings, dirs: BenchDirs, redis: BenchRedis, progress: (text: string) => void) {
    this.#settings = settings
    this.#dirs = dirs
    this.#redis = redis
    this.#progress = progress
    this.#targets = new Targets(dirs.benchDir, dirs.workDir)
  }

  async close (): Promise<void> {
    await this.#targets.close()
    this.#pki?.remove()
  }

  /** The run's CA and server certificate (openssl, spec/helpers/tls-certs.ts), made on first use. */
  #tls (): TestPki {
    this.#pki ??= makeTestPki()
    return this.#pki
  }

  /**
   * The target for a scenario. For https both sides are told about the CA the way their
   * users would: the raw client through Node's NODE_EXTRA_CA_CERTS, Chronos through
   * CHRONOS_TLS_CA_FILE.
   */
  async #target (spec: ScenarioSpec): Promise<{ target: Target, rawEnv?: NodeJS.ProcessEnv, chronosEnv?: Record<string, string> }> {
    if (spec.protocol !== 'https') return { target: await this.#targets.get(spec.latencyMs) }
    const pki = this.#tls()
    return {
      target: await this.#targets.get(spec.latencyMs, pki.server),
      rawEnv: { ...process.env, NODE_EXTRA_CA_CERTS: pki.caFile },
      chronosEnv: { CHRONOS_TLS_CA_FILE: pki.caFile }
    }
  }

  #shouldSkip (label: string): boolean {
    // performance.now() counts from process start: the budget covers the whole bench.
    if (performance.now() <= this.#settings.budgetMs) return false
    this.skipped.push(label)
    this.#progress(`${label}: skipped, over BENCH_BUDGET_S`)
    return true
  }

  async #fixture (records: number, target: Target, concurrency: number, format: UploadFormat = 'ndjson', payload: PayloadShape = 'string'): Promise<Fixture> {
    const key = `${records}-${target.protocol}-${target.port}-${concurrency}${payload === 'string' ? '' : `-${payload}`}`
    const file = join(this.#dirs.workDir, `upload-${key}.${format}`)
    const known = this.#fixtures.get(file)
    if (known !== undefined) return known
    const fixture = await makeFixture({ records, file, targetPort: target.port, concurrency, format, payload, protocol: target.protocol })
    this.#fixtures.set(file, fixture)
    return fixture
  }

  async #raw (fixture: Fixture, target: Target, env?: NodeJS.ProcessEnv): Promise<RawRunResult> {
    const before = await target.requests()
    const child = await spawnTs('bench-raw', join(this.#dirs.benchDir, 'raw.ts'), [fixture.file], {
      captureStdout: true, logFile: join(this.#dirs.workDir, 'bench-raw.log'), ...(env === undefined ? {} : { env })
    })
    try {
      const out = await runToEnd(child, 60_000 + fixture.records)
      const run = JSON.parse(out.trim().split('\n').pop() ?? '{}') as Omit<RawRunResult, 'ok' | 'error' | 'delivered'> & { succeeded: number }
      const delivered = (await target.requests()) - before
      const error = run.succeeded !== fixture.records
        ? `succeeded ${run.succeeded} != ${fixture.records}`
        : delivered < fixture.records ? `target saw ${delivered} < ${fixture.records}` : null
      return {
        ok: error === null, error, records: fixture.records, ms: run.ms, recordsPerSec: run.recordsPerSec, cpuUsPerRecord: run.cpuUsPerRecord ?? null, delivered, mainThread: run.mainThread ?? null
      }
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err), records: fixture.records, ms: null, recordsPerSec: null, cpuUsPerRecord: null, delivered: null, mainThread: null }
    }
  }

  async #chronos (fixture: Fixture, target: Target, rawMs: number | null, env?: Record<string, string>): Promise<ChronosRunResult> {
    // Own Redis, so a clean slate per run is safe and makes used_memory deltas comparable.
    await this.#redis.client.flushall()
    return await runChronos({
      repoDir: this.#dirs.repoDir,
      workDir: this.#dirs.workDir,
      redisUrl: this.#redis.url,
      redis: this.#redis.client,
      runId: String(++this.#runCount),
      fixture,
      target,
      timeoutMs: rawMs === null ? 60_000 + fixture.records : Math.max(60_000, 4 * rawMs),
      ...(env === undefined ? {} : { env })
    })
  }

  async delivery (spec: ScenarioSpec): Promise<ScenarioResult> {
    const { target, rawEnv, chronosEnv } = await this.#target(spec)
    const fixture = await this.#fixture(spec.records, target, spec.concurrency)
    const result: DeliveryScenario = { kind: 'delivery', ...shapeOf(spec), sequence: [], raw: [], chronos: [] }
    for (const side of sequence(this.#settings.runs, this.#settings.sides)) {
      if (this.#shouldSkip(`${spec.name} ${side}`)) continue
      result.sequence.push(side)
      if (side === 'raw') {
        const run = await this.#raw(fixture, target, rawEnv)
        result.raw.push(run)
        this.#progress(`${spec.name} raw: ${run.ok ? `${fmt(run.recordsPerSec)} rec/s in ${fmt((run.ms ?? 0) / 1000, 1)} s` : `FAILED ${run.error}`}`)
      } else {
        const run = await this.#chronos(fixture, target, median(result.raw.filter((r) => r.ok).map((r) => r.ms)), chronosEnv)
        result.chronos.push(run)
        this.#progress(`${spec.name} chronos: ${run.ok ? `${fmt(run.recordsPerSec)} rec/s in ${fmt((run.ms ?? 0) / 1000, 1)} s, RSS ${fmt((run.peakRssBytes ?? 0) / 1048576)} MiB` : `FAILED ${run.error}`}`)
      }
      this.#progressPair(spec.name, result.raw.map((r) => (r.ok ? r.recordsPerSec : null)), result.chronos.map((r) => (r.ok ? r.recordsPerSec : null)))
    }
    return result
  }

  async ingest (spec: ScenarioSpec): Promise<ScenarioResult> {
    const target = await this.#targets.get(spec.latencyMs)
    const format = spec.format ?? 'ndjson'
    const fixture = await this.#fixture(spec.records, target, spec.concurrency, format, spec.payload)
    const result: IngestScenario = {
      kind: 'ingest', name: spec.name, format, payload: spec.payload ?? 'string', records: spec.records, bytes: fixture.bytes, targetRatio: spec.targetRatio, sequence: [], raw: [], chronos: []
    }
    let server: IngestRawServer | undefined
    try {
      if (this.#settings.sides.has('raw')) server = await startIngestRaw(this.#dirs.benchDir, this.#dirs.workDir)
      for (const side of sequence(this.#settings.runs, this.#settings.sides)) {
        if (this.#shouldSkip(`${spec.name} ${side}`)) continue
        result.sequence.push(side)
        if (side === 'raw' && server !== undefined) {
          const run = await runIngestRaw(server, fixture)
          result.raw.push(run)
          this.#progress(`${spec.name} raw: ${run.ok ? `${fmt(run.mbPerSec, 1)} MB/s` : `FAILED ${run.error}`}`)
        } else if (side === 'chronos') {
          await this.#redis.client.flushall()
          const run = await runIngestChronos(this.#dirs.repoDir, this.#dirs.workDir, this.#redis.url, String(++this.#runCount), fixture)
          result.chronos.push(run)
          this.#progress(`${spec.name} chronos: ${run.ok ? `${fmt(run.mbPerSec, 1)} MB/s, peak RSS ${fmt((run.peakRssBytes ?? 0) / 1048576)} MiB` : `FAILED ${run.error}`}`)
        }
        this.#progressPair(spec.name, result.raw.map((r) => (r.ok ? r.mbPerSec : null)), result.chronos.map((r) => (r.ok ? r.mbPerSec : null)))
      }
    } finally {
      await server?.stop()
    }
    return result
  }

  /**
   * BullMQ (peer-run.ts) against Chronos on the same file and target, in ABBA order, the
   * bench Redis FLUSHALLed before each side. Chronos's pair partner is timed end to end.
   */
  async peer (spec: ScenarioSpec): Promise<ScenarioResult> {
    const target = await this.#targets.get(spec.latencyMs)
    const fixture = await this.#fixture(spec.records, target, spec.concurrency)
    const result: PeerScenario = {
      kind: 'peer', ...shapeOf(spec), memoryTargetRatio: spec.memoryTargetRatio ?? 1, sequence: [], bullmq: [], chronos: []
    }
    for (const side of sequence(this.#settings.runs, this.#settings.sides, 'bullmq')) {
      if (this.#shouldSkip(`${spec.name} ${side}`)) continue
      result.sequence.push(side)
      if (side === 'bullmq') {
        await this.#redis.client.flushall()
        const run = await runPeer({ benchDir: this.#dirs.benchDir, workDir: this.#dirs.workDir, redis: this.#redis, fixture, target })
        result.bullmq.push(run)
        this.#progress(`${spec.name} bullmq: ${run.ok ? `${fmt(run.recordsPerSec)} rec/s in ${fmt((run.ms ?? 0) / 1000, 1)} s, Redis peak ${fmt(run.usedMemoryPeakPerRecord, 1)} B/rec` : `FAILED ${run.error}`}`)
      } else {
        const run = await this.#chronos(fixture, target, median(result.bullmq.filter((r) => r.ok).map((r) => r.ms)))
        result.chronos.push(run)
        this.#progress(`${spec.name} chronos: ${run.ok ? `${fmt(run.endToEndRecordsPerSec)} rec/s end to end in ${fmt((run.endToEndMs ?? 0) / 1000, 1)} s, Redis peak ${fmt(run.redis?.usedMemoryPeakPerRecord ?? null, 1)} B/rec` : `FAILED ${run.error}`}`)
      }
      this.#progressPair(spec.name, result.bullmq.map((r) => (r.ok ? r.recordsPerSec : null)), result.chronos.map((r) => (r.ok ? r.endToEndRecordsPerSec : null)))
    }
    return result
  }

  /** Once both runs of a pair are in, its ratio (stats.ts), so a long bench can be read as it goes. */
  #progressPair (name: string, rival: Array<number | null>, chronos: Array<number | null>): void {
    if (rival.length !== chronos.length || rival.length === 0) return
    const ratio = pairRatios(rival, chronos).at(-1)
    this.#progress(`${name} pair ${rival.length}: chronos ÷ rival ${fmt(ratio ?? null, 3)}`)
  }

  async rss (spec: ScenarioSpec): Promise<ScenarioResult> {
    const target = await this.#targets.get(spec.latencyMs)
    const fixture = await this.#fixture(spec.records, target, spec.concurrency)
    const result: RssScenario = { kind: 'rss', name: spec.name, records: spec.records, chronos: [] }
    if (!this.#settings.sides.has('chronos')) return result
    for (let i = 0; i < this.#settings.runs; i++) {
      if (this.#shouldSkip(`${spec.name} chronos`)) continue
      const run = await this.#chronos(fixture, target, null)
      result.chronos.push(run)
      this.#progress(`rss N=${fmt(spec.records)} chronos: ${run.ok ? `peak RSS ${fmt((run.peakRssBytes ?? 0) / 1048576)} MiB` : `FAILED ${run.error}`}`)
    }
    return result
  }
}
