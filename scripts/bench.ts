/**
 * `make bench` / `npm run bench`: Chronos against the best plain client, same machine,
 * same target, one run (issue 5). Needs a built server (`npm run build` → dist/lib/main.js)
 * and `redis-server` on PATH; it starts its own Redis on a free port (persistence off),
 * never touching the one on 6379, and talks to 127.0.0.1 only.
 *
 * Scenarios (N before BENCH_SCALE):
 *   cpu       0 ms target, C=64,  N=1,000,000   chronos >= 0.90 x raw  (headline; also the 1M RSS figure)
 *   latency  20 ms target, C=64,  N=100,000     chronos >= 0.97 x raw
 *   highconc 20 ms target, C=256, N=200,000     chronos >= 0.90 x raw  (issue: 500,000, see below)
 *   ingest   upload of N=1,000,000 (the cpu file) until 202, Chronos vs a pipe-to-file server, >= 0.5
 *   rss      cpu shape at N=100,000, Chronos only: peak RSS vs the cpu scenario's 1,000,000
 * Each delivery and ingest scenario runs raw and chronos BENCH_RUNS times each in ABBA
 * order (raw, chronos, chronos, raw, ...) so slow drift of the machine cancels out.
 *
 * Time budget (the whole run must stay under 10 minutes on 2 cores). Per run, at the
 * issue's raw rates (12.2k/s cpu, 2.7k/s latency, 10k/s highconc) and Chronos at its
 * target ratio, 2 runs per side:
 *   cpu 1M: 82 s raw + 91 s chronos (+~4 s upload) -> ~350 s
 *   latency 100k: 37 s + 38 s -> ~150 s
 *   highconc 500k: 50 s + 56 s -> ~210 s  => ~710 s with the rest: does not fit.
 * So highconc runs N=200,000 (each run still >= 20 s, so start-up and the 100 ms poll
 * stay well under 1 % of it: ~85 s for four runs) and every other scenario keeps the
 * issue's N: ~600 s worst case at those rates. Measured on this machine the raw client
 * is much faster at 0 ms (25-35k rec/s), and a full run takes about 5-6 minutes.
 * Guards so it always stops by itself: a Chronos run is cancelled after 4 x the raw
 * median time (at least 60 s); once BENCH_BUDGET_S has passed, remaining runs are
 * skipped and reported as such.
 *
 * Knobs: BENCH_SCALE (multiplies every N; 0.01 = smoke run), BENCH_SCENARIOS (comma list
 * of the names above), BENCH_RUNS (default 2), BENCH_SIDES (raw,chronos; default both),
 * BENCH_BUDGET_S (default 570).
 * Output: a table on stdout (progress on stderr) and bench-results/latest.json. Exit code
 * 1 when a run failed or did not verify (count, succeeded, requests seen by the target),
 * not when a target ratio is missed: the table says PASS/FAIL for those.
 * Children are SIGKILLed and the temp dir removed on any exit, error, SIGINT or SIGTERM.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import os from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { killAllSync, runToEnd, spawnTs } from './bench-children.js'
import { runChronos, type ChronosRunResult } from './bench-chronos-run.js'
import { chronosEntry } from './bench-chronos.js'
import { runIngestChronos, runIngestRaw, startIngestRaw, type IngestRawServer } from './bench-ingest.js'
import { startRedis, type BenchRedis } from './bench-redis.js'
import {
  median, renderTable, summarize,
  type DeliveryScenario, type IngestScenario, type RawRunResult, type RssScenario, type ScenarioResult, type Side
} from './bench-report.js'
import { Targets, type Target } from './bench-targets.js'
import { makeFixture, type Fixture } from './make-fixture.js'

interface ScenarioSpec {
  name: string
  kind: ScenarioResult['kind']
  records: number
  concurrency: number
  latencyMs: number
  targetRatio: number
}

const SCENARIOS: ScenarioSpec[] = [
  { name: 'cpu', kind: 'delivery', records: 1_000_000, concurrency: 64, latencyMs: 0, targetRatio: 0.90 },
  { name: 'latency', kind: 'delivery', records: 100_000, concurrency: 64, latencyMs: 20, targetRatio: 0.97 },
  { name: 'highconc', kind: 'delivery', records: 200_000, concurrency: 256, latencyMs: 20, targetRatio: 0.90 },
  { name: 'ingest', kind: 'ingest', records: 1_000_000, concurrency: 64, latencyMs: 0, targetRatio: 0.5 },
  { name: 'rss', kind: 'rss', records: 100_000, concurrency: 64, latencyMs: 0, targetRatio: 0 }
]

const scriptsDir = dirname(fileURLToPath(import.meta.url))
const repoDir = dirname(scriptsDir)
const startedAt = performance.now()

function readSettings (): { scale: number, runs: number, sides: Set<Side>, budgetMs: number, scenarios: ScenarioSpec[] } {
  const env = process.env
  const scale = Number(env['BENCH_SCALE'] ?? 1)
  const runs = Number(env['BENCH_RUNS'] ?? 2)
  const budgetS = Number(env['BENCH_BUDGET_S'] ?? 570)
  const names = (env['BENCH_SCENARIOS'] ?? SCENARIOS.map((s) => s.name).join(',')).split(',').map((n) => n.trim()).filter(Boolean)
  const sides = new Set((env['BENCH_SIDES'] ?? 'raw,chronos').split(',').map((s) => s.trim()))
  const problems: string[] = []
  if (!(scale > 0)) problems.push(`BENCH_SCALE must be > 0, got ${env['BENCH_SCALE']}`)
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) problems.push(`BENCH_RUNS must be 1..20, got ${env['BENCH_RUNS']}`)
  if (!(budgetS > 0)) problems.push(`BENCH_BUDGET_S must be > 0, got ${env['BENCH_BUDGET_S']}`)
  for (const name of names) if (!SCENARIOS.some((s) => s.name === name)) problems.push(`unknown scenario ${name}`)
  for (const side of sides) if (side !== 'raw' && side !== 'chronos') problems.push(`unknown side ${side}`)
  if (problems.length > 0) throw new Error(`bad settings:\n  ${problems.join('\n  ')}`)
  const scenarios = SCENARIOS.filter((s) => names.includes(s.name))
    .map((s) => ({ ...s, records: Math.max(1, Math.round(s.records * scale)) }))
  return { scale, runs, sides: sides as Set<Side>, budgetMs: budgetS * 1000, scenarios }
}

const progress = (text: string): void => {
  process.stderr.write(`[${((performance.now() - startedAt) / 1000).toFixed(0).padStart(4)} s] ${text}\n`)
}

/** raw, chronos, chronos, raw, ...: ABBA order, so linear drift hits both sides alike. */
function sequence (runs: number, sides: Set<Side>): Side[] {
  const order: Side[] = []
  for (let i = 0; i < runs; i++) order.push(...(i % 2 === 0 ? ['raw', 'chronos'] as const : ['chronos', 'raw'] as const))
  return order.filter((side) => sides.has(side))
}

class Bench {
  readonly #fixtures = new Map<string, Fixture>()
  readonly #settings: ReturnType<typeof readSettings>
  readonly #workDir: string
  readonly #redis: BenchRedis
  readonly #targets: Targets
  #runCount = 0

  constructor (settings: ReturnType<typeof readSettings>, workDir: string, redis: BenchRedis) {
    this.#settings = settings
    this.#workDir = workDir
    this.#redis = redis
    this.#targets = new Targets(scriptsDir, workDir)
  }

  async close (): Promise<void> {
    await this.#targets.close()
  }

  #isOverBudget (): boolean {
    return performance.now() - startedAt > this.#settings.budgetMs
  }

  async #fixture (records: number, target: Target, concurrency: number): Promise<Fixture> {
    const key = `${records}-${target.port}-${concurrency}`
    const known = this.#fixtures.get(key)
    if (known !== undefined) return known
    const fixture = await makeFixture({ records, file: join(this.#workDir, `upload-${key}.ndjson`), targetPort: target.port, concurrency })
    this.#fixtures.set(key, fixture)
    return fixture
  }

  async #raw (fixture: Fixture, target: Target): Promise<RawRunResult> {
    const before = await target.requests()
    const child = spawnTs('bench-raw', join(scriptsDir, 'bench-raw.ts'), [fixture.file], {
      captureStdout: true, logFile: join(this.#workDir, 'bench-raw.log')
    })
    try {
      const out = await runToEnd(child, 60_000 + fixture.records)
      const run = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { records: number, succeeded: number, ms: number, recordsPerSec: number }
      const delivered = (await target.requests()) - before
      const error = run.succeeded !== fixture.records
        ? `succeeded ${run.succeeded} != ${fixture.records}`
        : delivered < fixture.records ? `target saw ${delivered} < ${fixture.records}` : null
      return { ok: error === null, error, records: fixture.records, ms: run.ms, recordsPerSec: run.recordsPerSec, delivered }
    } catch (err) {
      return { ok: false, error: err instanceof Error ? err.message : String(err), records: fixture.records, ms: null, recordsPerSec: null, delivered: null }
    }
  }

  async #chronos (fixture: Fixture, target: Target, rawMs: number | null): Promise<ChronosRunResult> {
    // Own Redis, so a clean slate per run is safe and makes used_memory deltas comparable.
    await this.#redis.client.flushall()
    return await runChronos({
      repoDir,
      workDir: this.#workDir,
      redisUrl: this.#redis.url,
      redis: this.#redis.client,
      runId: String(++this.#runCount),
      fixture,
      target,
      timeoutMs: rawMs === null ? 60_000 + fixture.records : Math.max(60_000, 4 * rawMs)
    })
  }

  async delivery (spec: ScenarioSpec): Promise<ScenarioResult> {
    const target = await this.#targets.get(spec.latencyMs)
    const fixture = await this.#fixture(spec.records, target, spec.concurrency)
    const result: DeliveryScenario = {
      kind: 'delivery',
      name: spec.name,
      records: spec.records,
      concurrency: spec.concurrency,
      latencyMs: spec.latencyMs,
      targetRatio: spec.targetRatio,
      sequence: [],
      raw: [],
      chronos: []
    }
    for (const side of sequence(this.#settings.runs, this.#settings.sides)) {
      if (this.#isOverBudget()) {
        progress(`${spec.name} ${side}: skipped, over BENCH_BUDGET_S`)
        continue
      }
      result.sequence.push(side)
      if (side === 'raw') {
        const run = await this.#raw(fixture, target)
        result.raw.push(run)
        progress(`${spec.name} raw: ${run.ok ? `${fmt(run.recordsPerSec)} rec/s in ${fmt((run.ms ?? 0) / 1000, 1)} s` : `FAILED ${run.error}`}`)
      } else {
        const run = await this.#chronos(fixture, target, median(result.raw.filter((r) => r.ok).map((r) => r.ms)))
        result.chronos.push(run)
        progress(`${spec.name} chronos: ${run.ok ? `${fmt(run.recordsPerSec)} rec/s in ${fmt((run.ms ?? 0) / 1000, 1)} s, RSS ${fmt((run.peakRssBytes ?? 0) / 1048576)} MiB` : `FAILED ${run.error}`}`)
      }
    }
    return result
  }

  async ingest (spec: ScenarioSpec): Promise<ScenarioResult> {
    const target = await this.#targets.get(spec.latencyMs)
    const fixture = await this.#fixture(spec.records, target, spec.concurrency)
    const result: IngestScenario = {
      kind: 'ingest', name: spec.name, records: spec.records, bytes: fixture.bytes, targetRatio: spec.targetRatio, sequence: [], raw: [], chronos: []
    }
    let server: IngestRawServer | undefined
    try {
      if (this.#settings.sides.has('raw')) server = await startIngestRaw(scriptsDir, this.#workDir)
      for (const side of sequence(this.#settings.runs, this.#settings.sides)) {
        if (this.#isOverBudget()) continue
        result.sequence.push(side)
        if (side === 'raw' && server !== undefined) {
          const run = await runIngestRaw(server, fixture)
          result.raw.push(run)
          progress(`ingest raw: ${run.ok ? `${fmt(run.mbPerSec, 1)} MB/s` : `FAILED ${run.error}`}`)
        } else if (side === 'chronos') {
          await this.#redis.client.flushall()
          const run = await runIngestChronos(repoDir, this.#workDir, this.#redis.url, String(++this.#runCount), fixture)
          result.chronos.push(run)
          progress(`ingest chronos: ${run.ok ? `${fmt(run.mbPerSec, 1)} MB/s` : `FAILED ${run.error}`}`)
        }
      }
    } finally {
      await server?.stop()
    }
    return result
  }

  async rss (spec: ScenarioSpec): Promise<ScenarioResult> {
    const target = await this.#targets.get(spec.latencyMs)
    const fixture = await this.#fixture(spec.records, target, spec.concurrency)
    const result: RssScenario = { kind: 'rss', name: spec.name, records: spec.records, chronos: [] }
    if (!this.#settings.sides.has('chronos')) return result
    for (let i = 0; i < this.#settings.runs && !this.#isOverBudget(); i++) {
      const run = await this.#chronos(fixture, target, null)
      result.chronos.push(run)
      progress(`rss N=${fmt(spec.records)} chronos: ${run.ok ? `peak RSS ${fmt((run.peakRssBytes ?? 0) / 1048576)} MiB` : `FAILED ${run.error}`}`)
    }
    return result
  }
}

const fmt = (value: number | null, digits = 0): string => (value === null ? 'n/a' : value.toLocaleString('en-US', { maximumFractionDigits: digits }))

function machine (redisVersion: string): Record<string, unknown> {
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repoDir, encoding: 'utf8' }).trim()
  } catch { /* not a git checkout: fine */ }
  const cpus = os.cpus()
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    node: process.version,
    redis: redisVersion,
    commit
  }
}

function isRunValid (scenario: ScenarioResult): boolean {
  const runs: Array<{ ok: boolean }> = scenario.kind === 'rss' ? scenario.chronos : [...scenario.raw, ...scenario.chronos]
  return runs.every((r) => r.ok)
}

async function main (workDir: string): Promise<number> {
  const settings = readSettings()
  if (settings.sides.has('chronos') && !existsSync(chronosEntry(repoDir))) {
    throw new Error(`${chronosEntry(repoDir)} is missing: run \`npm run build\` first (or BENCH_SIDES=raw)`)
  }
  progress(`work dir ${workDir}; scale ${settings.scale}, runs ${settings.runs}, scenarios ${settings.scenarios.map((s) => s.name).join(',')}`)
  const redis = await startRedis(workDir)
  const bench = new Bench(settings, workDir, redis)
  const scenarios: ScenarioResult[] = []
  try {
    for (const spec of settings.scenarios) {
      if (spec.kind === 'delivery') scenarios.push(await bench.delivery(spec))
      else if (spec.kind === 'ingest') scenarios.push(await bench.ingest(spec))
      else scenarios.push(await bench.rss(spec))
    }
  } finally {
    await bench.close()
    await redis.stop()
  }
  const info = machine(redis.version)
  const durationS = (performance.now() - startedAt) / 1000
  const summary = summarize(scenarios)
  const heading = `Chronos benchmark: ${info['cpus']} x ${info['cpuModel']}, ${info['memoryGiB']} GiB, ${info['os']}, Node ${info['node']}, Redis ${info['redis']}, ` +
    `commit ${info['commit']}; runs ${settings.runs} per side, scale ${settings.scale}, ${durationS.toFixed(0)} s`
  process.stdout.write(renderTable(summary, heading) + '\n')
  const errors = scenarios.flatMap((s) => [...(s.kind === 'rss' ? [] : s.raw), ...s.chronos].filter((r) => !r.ok).map((r) => `${s.name}: ${r.error}`))
  if (errors.length > 0) process.stdout.write(`\nFailed runs:\n  ${errors.join('\n  ')}\n`)
  const outDir = join(repoDir, 'bench-results')
  mkdirSync(outDir, { recursive: true })
  const document = { createdAt: new Date().toISOString(), durationS, machine: info, settings: { ...settings, sides: [...settings.sides] }, summary, scenarios }
  writeFileSync(join(outDir, 'latest.json'), JSON.stringify(document, null, 2) + '\n')
  progress(`wrote ${join(outDir, 'latest.json')}`)
  return scenarios.every(isRunValid) ? 0 : 1
}

const workDir = mkdtempSync(join(os.tmpdir(), 'chronos-bench-'))
let isCleanedUp = false
function cleanupSync (): void {
  if (isCleanedUp) return
  isCleanedUp = true
  killAllSync()
  rmSync(workDir, { recursive: true, force: true })
}
process.on('exit', cleanupSync)
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  // once(): after cleaning up, re-raise so the default action ends us with the right status.
  process.once(signal, () => {
    process.stderr.write(`bench: ${signal}, stopping children\n`)
    cleanupSync()
    process.kill(process.pid, signal)
  })
}

try {
  process.exitCode = await main(workDir)
} catch (err) {
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
} finally {
  cleanupSync()
}
