/**
 * Turns the runs into the verdicts of issue 5: medians, ratios, pass/fail per target, a
 * plain-text table for stdout and the `summary` of the dated JSON result (result-file.ts).
 * Medians use only valid runs (completed and verified); a scenario with a failed or
 * skipped run still shows its numbers but cannot pass.
 */
import type { ChronosRunResult } from './chronos-run.js'
import type { IngestResult } from './ingest.js'

export type Side = 'raw' | 'chronos'

export interface RawRunResult {
  ok: boolean
  error: string | null
  records: number
  ms: number | null
  recordsPerSec: number | null
  /** The client process's CPU time (user + system) per record, µs. */
  cpuUsPerRecord: number | null
  delivered: number | null
}

export interface DeliveryScenario {
  kind: 'delivery'
  name: string
  records: number
  concurrency: number
  latencyMs: number
  targetRatio: number
  /** The order the runs were made in (ABBA), for the JSON reader. */
  sequence: Side[]
  raw: RawRunResult[]
  chronos: ChronosRunResult[]
}

export interface IngestScenario {
  kind: 'ingest'
  name: string
  records: number
  bytes: number
  targetRatio: number
  sequence: Side[]
  raw: IngestResult[]
  chronos: Array<IngestResult & { peakRssBytes: number | null }>
}

export interface RssScenario {
  kind: 'rss'
  name: string
  records: number
  chronos: ChronosRunResult[]
}

export type ScenarioResult = DeliveryScenario | IngestScenario | RssScenario

/** Issue 5's targets, in one place. */
export const LIMITS = {
  peakRssBytes: 150 * 1024 * 1024,
  rssGrowthPercent: 10,
  roundTripsPerRecord: 1 / 500,
  redisBytesPerRecord: 32,
  eventLoopP99Ms: 50
} as const

export function median (values: Array<number | null>): number | null {
  const sorted = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b)
  if (sorted.length === 0) return null
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] ?? null : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2
}

function max (values: Array<number | null>): number | null {
  const known = values.filter((v): v is number => v !== null && Number.isFinite(v))
  return known.length === 0 ? null : Math.max(...known)
}

function ratioVerdict (raw: number | null, chronos: number | null, target: number, isAllValid: boolean): { ratio: number | null, pass: boolean } {
  const ratio = raw !== null && chronos !== null && raw > 0 ? chronos / raw : null
  return { ratio, pass: isAllValid && ratio !== null && ratio >= target }
}

/** `runs` is BENCH_RUNS: a scenario with fewer valid runs per side than that cannot pass. */
export function summarize (scenarios: ScenarioResult[], runs: number): Record<string, unknown> {
  const isComplete = (sides: Array<Array<{ ok: boolean }>>): boolean => sides.every((side) => side.length >= runs && side.every((r) => r.ok))
  const summary: Record<string, unknown> = {}
  const deliveries = scenarios.filter((s): s is DeliveryScenario => s.kind === 'delivery')
  for (const s of deliveries) {
    const okChronos = s.chronos.filter((r) => r.ok)
    const isAllValid = isComplete([s.raw, s.chronos])
    const rawRps = median(s.raw.filter((r) => r.ok).map((r) => r.recordsPerSec))
    const chronosRps = median(okChronos.map((r) => r.recordsPerSec))
    summary[s.name] = {
      records: s.records,
      concurrency: s.concurrency,
      latencyMs: s.latencyMs,
      rawRecordsPerSec: rawRps,
      chronosRecordsPerSec: chronosRps,
      rawCpuUsPerRecord: median(s.raw.filter((r) => r.ok).map((r) => r.cpuUsPerRecord)),
      chronosCpuUsPerRecord: median(okChronos.map((r) => r.cpuUsPerRecord)),
      targetRatio: s.targetRatio,
      ...ratioVerdict(rawRps, chronosRps, s.targetRatio, isAllValid),
      peakRssBytes: max(s.chronos.map((r) => r.peakRssBytes)),
      redisRoundTripsPerRecord: median(okChronos.map((r) => r.redis?.roundTripsPerRecord ?? null)),
      redisCommandsPerRecord: median(okChronos.map((r) => r.redis?.commandsPerRecord ?? null)),
      redisBytesPerRecord: median(okChronos.map((r) => r.redis?.bytesPerRecord ?? null)),
      redisUsedMemoryPerRecord: median(okChronos.map((r) => r.redis?.usedMemoryPerRecord ?? null)),
      eventLoopP99Ms: max(okChronos.map((r) => r.eventLoopP99Ms)),
      statusPollP99Ms: max(okChronos.map((r) => r.statusPollP99Ms))
    }
  }
  const ingest = scenarios.find((s): s is IngestScenario => s.kind === 'ingest')
  if (ingest !== undefined) {
    const isAllValid = isComplete([ingest.raw, ingest.chronos])
    const rawMbps = median(ingest.raw.filter((r) => r.ok).map((r) => r.mbPerSec))
    const chronosMbps = median(ingest.chronos.filter((r) => r.ok).map((r) => r.mbPerSec))
    summary['ingest'] = {
      records: ingest.records,
      bytes: ingest.bytes,
      rawMBPerSec: rawMbps,
      chronosMBPerSec: chronosMbps,
      targetRatio: ingest.targetRatio,
      ...ratioVerdict(rawMbps, chronosMbps, ingest.targetRatio, isAllValid)
    }
  }
  const rss = scenarios.find((s): s is RssScenario => s.kind === 'rss')
  const cpu = deliveries.find((s) => s.name === 'cpu')
  if (rss !== undefined || cpu !== undefined) {
    const small = rss === undefined ? null : max(rss.chronos.filter((r) => r.ok).map((r) => r.peakRssBytes))
    const large = cpu === undefined ? null : max(cpu.chronos.filter((r) => r.ok).map((r) => r.peakRssBytes))
    const growth = small !== null && large !== null ? (large - small) / small * 100 : null
    summary['peakRss'] = {
      smallRecords: rss?.records ?? null,
      largeRecords: cpu?.records ?? null,
      smallBytes: small,
      largeBytes: large,
      growthPercent: growth,
      pass: isComplete([rss?.chronos ?? [], cpu?.chronos ?? []]) && small !== null && large !== null && growth !== null &&
        Math.max(small, large) <= LIMITS.peakRssBytes && growth <= LIMITS.rssGrowthPercent
    }
  }
  return summary
}

const fmt = (value: number | null | undefined, digits = 0): string =>
  value === null || value === undefined ? 'n/a' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
const mb = (bytes: number | null | undefined): string => (bytes === null || bytes === undefined ? 'n/a' : `${fmt(bytes / 1048576, 1)} MiB`)
// n/a when a side was not measured at all (BENCH_SIDES, a skipped run): no verdict, not a FAIL.
const verdict = (pass: unknown, value: unknown): string => (value === null || value === undefined ? 'n/a' : pass === true ? 'PASS' : 'FAIL')

function table (rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? []
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd()).join('\n')
}

type Row = Record<string, number | null | boolean | undefined>

export function renderTable (summary: Record<string, unknown>, heading: string): string {
  const out: string[] = [heading, '']
  const delivery = Object.entries(summary).filter(([name]) => name !== 'ingest' && name !== 'peakRss') as Array<[string, Row]>
  if (delivery.length > 0) {
    out.push(table([
      ['scenario', 'N', 'C', 'target ms', 'raw rec/s', 'chronos rec/s', 'ratio', 'target', 'result', 'CPU µs/rec raw', 'chronos'],
      ...delivery.map(([name, s]) => [name, fmt(s['records'] as number), String(s['concurrency']), String(s['latencyMs']),
        fmt(s['rawRecordsPerSec'] as number | null), fmt(s['chronosRecordsPerSec'] as number | null), fmt(s['ratio'] as number | null, 3),
        `>= ${fmt(s['targetRatio'] as number, 2)}`, verdict(s['pass'], s['ratio']),
        fmt(s['rawCpuUsPerRecord'] as number | null, 1), fmt(s['chronosCpuUsPerRecord'] as number | null, 1)])
    ]), '')
  }
  const ingest = summary['ingest'] as Row | undefined
  if (ingest !== undefined) {
    out.push(table([
      ['ingest', 'N', 'MB', 'raw MB/s', 'chronos MB/s', 'ratio', 'target', 'result'],
      ['to 202', fmt(ingest['records'] as number), fmt((ingest['bytes'] as number) / 1e6, 1), fmt(ingest['rawMBPerSec'] as number | null, 1),
        fmt(ingest['chronosMBPerSec'] as number | null, 1), fmt(ingest['ratio'] as number | null, 3), `>= ${fmt(ingest['targetRatio'] as number, 2)}`, verdict(ingest['pass'], ingest['ratio'])]
    ]), '')
  }
  const rss = summary['peakRss'] as Row | undefined
  if (rss !== undefined) {
    out.push(table([
      ['peak RSS (VmHWM)', `N=${fmt(rss['smallRecords'] as number | null)}`, `N=${fmt(rss['largeRecords'] as number | null)}`, 'growth', 'target', 'result'],
      ['chronos, cpu shape', mb(rss['smallBytes'] as number | null), mb(rss['largeBytes'] as number | null), `${fmt(rss['growthPercent'] as number | null, 1)} %`,
        `<= ${mb(LIMITS.peakRssBytes)}, <= ${LIMITS.rssGrowthPercent} %`, verdict(rss['pass'], rss['growthPercent'])]
    ]), '')
  }
  if (delivery.length > 0) {
    out.push(table([
      ['per scenario (chronos)', 'redis round trips/rec', 'redis commands/rec', 'redis bytes/rec', 'used_memory Δ/rec', 'event-loop p99 ms', '/status p99 ms', 'peak RSS'],
      ...delivery.map(([name, s]) => [name, fmt(s['redisRoundTripsPerRecord'] as number | null, 5), fmt(s['redisCommandsPerRecord'] as number | null, 5),
        fmt(s['redisBytesPerRecord'] as number | null, 1), fmt(s['redisUsedMemoryPerRecord'] as number | null, 1),
        fmt(s['eventLoopP99Ms'] as number | null, 1), fmt(s['statusPollP99Ms'] as number | null, 1), mb(s['peakRssBytes'] as number | null)]),
      ['target', `<= ${fmt(LIMITS.roundTripsPerRecord, 3)} (1/500)`, '-', `<= ${LIMITS.redisBytesPerRecord}`, '-', `< ${LIMITS.eventLoopP99Ms}`, '-', `<= ${mb(LIMITS.peakRssBytes)}`]
    ]))
    out.push(
      '',
      'Redis round trips = socket reads (INFO total_reads_processed: one per command batch that arrives together,',
      'a pipeline or a MULTI...EXEC sent in one write); commands = total_commands_processed, which also counts',
      'MULTI, EXEC, every command inside them and every redis.call() inside EVAL/EVALSHA. Both are taken over the',
      'whole job (upload, delivery, status flushes) minus the measured cost of the bench\'s own GET /status polls.',
      'Redis bytes = MEMORY USAGE summed over the job\'s keys after it ended, per record; used_memory Δ = used_memory',
      'after the job minus before it (fresh FLUSHALLed Redis), which also counts allocator slack and client buffers.',
      'CPU µs/rec = the client process\'s user + system CPU time over the run, per record (Chronos: from the 202 to',
      'the poll that saw it complete): the cost of a record, which machine noise moves less than records/s.'
    )
  }
  return out.join('\n')
}
