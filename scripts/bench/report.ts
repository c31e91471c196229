/**
 * Turns the runs into the verdicts of issue 5: medians, ratios, pass/fail per target, a
 * plain-text table for stdout and the `summary` of the dated JSON result (result-file.ts).
 * Medians use only valid runs (completed and verified); a scenario with a failed or
 * skipped run still shows its numbers but cannot pass. Every summary entry of a scenario
 * carries its kind ('delivery', 'ingest' or 'peer'); `peakRss` and `ingestPeakRss` compare
 * two scenarios' peak RSS. Besides the medians, each scenario's ABBA pair ratios and their
 * spread (stats.ts), and each side's main-thread schedstat shares (schedstat.ts), so one
 * run can be read on its own. Fields are only ever added, never renamed: older result
 * files stay readable.
 */
import type { ChronosRunResult } from './chronos-run.js'
import type { IngestResult } from './ingest.js'
import type { PayloadShape, UploadFormat } from './make-fixture.js'
import type { MainThreadShare } from './schedstat.js'
import { max, median, medianShare, pairRatios, spread } from './stats.js'

export { median } from './stats.js'

/** 'bullmq' is the peer scenario's rival (peer.ts); 'raw' the delivery and ingest scenarios'. */
export type Side = 'raw' | 'chronos' | 'bullmq'

export interface RawRunResult {
  ok: boolean
  error: string | null
  records: number
  ms: number | null
  recordsPerSec: number | null
  /** The client process's CPU time (user + system) per record, µs. */
  cpuUsPerRecord: number | null
  delivered: number | null
  /** The client's main thread over the run (schedstat.ts); absent in result files before issue 17. */
  mainThread?: MainThreadShare | null
}

/** One BullMQ run of the peer scenario (peer.ts), timed from the first addBulk to the last job done. */
export interface PeerRunResult extends RawRunResult {
  /** From the first addBulk until the last resolved. */
  enqueueMs: number | null
  /** The highest used_memory sampled during the run minus the one before it, per record. */
  usedMemoryPeakPerRecord: number | null
  /** used_memory after the run minus before it, per record (finished jobs past the kept ones removed). */
  usedMemoryPerRecord: number | null
  /** Redis's CPU time over the run, per record, µs (BullMQ's Lua scripts run there). */
  redisCpuUsPerRecord: number | null
}

/**
 * The same records through BullMQ and through Chronos (issue 17), both timed end to end:
 * BullMQ from its first addBulk to its last job done, Chronos from the start of the upload
 * to `completed` (its upload is the enqueue). Chronos must be `targetRatio` × as fast and
 * hold at most `memoryTargetRatio` × BullMQ's Redis memory per record at the peak.
 */
export interface PeerScenario {
  kind: 'peer'
  name: string
  records: number
  concurrency: number
  latencyMs: number
  targetRatio: number
  memoryTargetRatio: number
  sequence: Side[]
  bullmq: PeerRunResult[]
  chronos: ChronosRunResult[]
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
  format: UploadFormat
  /** @defaultValue 'string' */
  payload?: PayloadShape
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

export type ScenarioResult = DeliveryScenario | IngestScenario | RssScenario | PeerScenario

/** Issue 5's targets, in one place. */
export const LIMITS = {
  peakRssBytes: 150 * 1024 * 1024,
  rssGrowthPercent: 10,
  /**
   * A JSON upload's peak RSS may exceed the same records' NDJSON upload's by this much: the
   * noise of one run's VmHWM, not an allowance for the format. Since the parser takes a
   * slice at a time the JSON upload's V8 heap is within ~1 MiB of the NDJSON one's; malloc
   * (main arena and thread arenas) moves either side's peak by up to ~4 MiB from run to run,
   * and single 1 GB runs measured JSON -2.5 to +3.2 % over NDJSON (docs/performance.md,
   * JSON ingest). Records kept in memory would grow with the upload: 0.5 % of a 1 GB upload
   * crosses this line.
   */
  jsonIngestRssPercent: 5,
  roundTripsPerRecord: 1 / 500,
  redisBytesPerRecord: 32,
  eventLoopP99Ms: 50
} as const

function ratioVerdict (raw: number | null, chronos: number | null, target: number, isAllValid: boolean): { ratio: number | null, pass: boolean } {
  const ratio = raw !== null && chronos !== null && raw > 0 ? chronos / raw : null
  return { ratio, pass: isAllValid && ratio !== null && ratio >= target }
}

/** Each run's measure in run order, null for a failed run: what pairRatios pairs up. */
function okValues<R extends { ok: boolean }> (runs: R[], measure: (run: R) => number | null | undefined): Array<number | null> {
  return runs.map((r) => (r.ok ? measure(r) ?? null : null))
}

/** The pairs' ratios and their min–max, for the summary. */
function pairFields (rival: Array<number | null>, chronos: Array<number | null>): Record<string, unknown> {
  const pairs = pairRatios(rival, chronos)
  const range = spread(pairs)
  return { pairRatios: pairs, pairRatioMin: range?.min ?? null, pairRatioMax: range?.max ?? null }
}

function shareFields (side: string, runs: Array<{ ok: boolean, mainThread?: MainThreadShare | null }>): Record<string, number | null> {
  const share = medianShare(runs.filter((r) => r.ok).map((r) => r.mainThread ?? null))
  return { [`${side}MainThreadOnCpu`]: share?.onCpu ?? null, [`${side}MainThreadWaiting`]: share?.waiting ?? null }
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
      kind: 'delivery',
      records: s.records,
      concurrency: s.concurrency,
      latencyMs: s.latencyMs,
      rawRecordsPerSec: rawRps,
      chronosRecordsPerSec: chronosRps,
      rawCpuUsPerRecord: median(s.raw.filter((r) => r.ok).map((r) => r.cpuUsPerRecord)),
      chronosCpuUsPerRecord: median(okChronos.map((r) => r.cpuUsPerRecord)),
      targetRatio: s.targetRatio,
      ...ratioVerdict(rawRps, chronosRps, s.targetRatio, isAllValid),
      ...pairFields(okValues(s.raw, (r) => r.recordsPerSec), okValues(s.chronos, (r) => r.recordsPerSec)),
      ...shareFields('raw', s.raw),
      ...shareFields('chronos', s.chronos),
      peakRssBytes: max(s.chronos.map((r) => r.peakRssBytes)),
      redisRoundTripsPerRecord: median(okChronos.map((r) => r.redis?.roundTripsPerRecord ?? null)),
      redisCommandsPerRecord: median(okChronos.map((r) => r.redis?.commandsPerRecord ?? null)),
      redisBytesPerRecord: median(okChronos.map((r) => r.redis?.bytesPerRecord ?? null)),
      redisUsedMemoryPerRecord: median(okChronos.map((r) => r.redis?.usedMemoryPerRecord ?? null)),
      redisUsedMemoryPeakPerRecord: median(okChronos.map((r) => r.redis?.usedMemoryPeakPerRecord ?? null)),
      eventLoopP99Ms: max(okChronos.map((r) => r.eventLoopP99Ms)),
      statusPollP99Ms: max(okChronos.map((r) => r.statusPollP99Ms))
    }
  }
  const ingests = scenarios.filter((s): s is IngestScenario => s.kind === 'ingest')
  for (const s of ingests) {
    const rawMbps = median(s.raw.filter((r) => r.ok).map((r) => r.mbPerSec))
    const chronosMbps = median(s.chronos.filter((r) => r.ok).map((r) => r.mbPerSec))
    summary[s.name] = {
      kind: 'ingest',
      format: s.format,
      payload: s.payload ?? 'string',
      records: s.records,
      bytes: s.bytes,
      rawMBPerSec: rawMbps,
      chronosMBPerSec: chronosMbps,
      targetRatio: s.targetRatio,
      ...ratioVerdict(rawMbps, chronosMbps, s.targetRatio, isComplete([s.raw, s.chronos])),
      ...pairFields(okValues(s.raw, (r) => r.mbPerSec), okValues(s.chronos, (r) => r.mbPerSec)),
      rawCpuMsPerMB: median(s.raw.filter((r) => r.ok).map((r) => r.cpuMsPerMB ?? null)),
      chronosCpuMsPerMB: median(s.chronos.filter((r) => r.ok).map((r) => r.cpuMsPerMB ?? null)),
      peakRssBytes: max(s.chronos.filter((r) => r.ok).map((r) => r.peakRssBytes))
    }
  }
  for (const s of scenarios.filter((p): p is PeerScenario => p.kind === 'peer')) summary[s.name] = summarizePeer(s, isComplete([s.bullmq, s.chronos]))
  // The JSON upload holds the records of the NDJSON one with string payloads: compare those two.
  const ndjson = ingests.find((s) => s.format === 'ndjson' && (s.payload ?? 'string') === 'string')
  const json = ingests.find((s) => s.format === 'json')
  if (ndjson !== undefined && json !== undefined) {
    const ndjsonPeak = max(ndjson.chronos.filter((r) => r.ok).map((r) => r.peakRssBytes))
    const jsonPeak = max(json.chronos.filter((r) => r.ok).map((r) => r.peakRssBytes))
    const excess = ndjsonPeak !== null && jsonPeak !== null ? (jsonPeak - ndjsonPeak) / ndjsonPeak * 100 : null
    summary['ingestPeakRss'] = {
      ndjsonBytes: ndjson.bytes,
      jsonBytes: json.bytes,
      ndjsonPeakRssBytes: ndjsonPeak,
      jsonPeakRssBytes: jsonPeak,
      excessPercent: excess,
      pass: isComplete([ndjson.chronos, json.chronos]) && excess !== null && excess <= LIMITS.jsonIngestRssPercent
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

/** The median over runs of (a + b) for the rival, over the same for Chronos; null if either is unknown. */
function ratioOfSums (rival: Array<Array<number | null | undefined>>, chronos: Array<Array<number | null | undefined>>): number | null {
  const sums = (runs: Array<Array<number | null | undefined>>): number | null =>
    median(runs.map((parts) => (parts.every((p) => typeof p === 'number') ? (parts as number[]).reduce((a, b) => a + b, 0) : null)))
  const a = sums(rival)
  const b = sums(chronos)
  return a !== null && b !== null && b > 0 ? a / b : null
}

function summarizePeer (s: PeerScenario, isAllValid: boolean): Record<string, unknown> {
  const okBullmq = s.bullmq.filter((r) => r.ok)
  const okChronos = s.chronos.filter((r) => r.ok)
  const bullmqRps = median(okBullmq.map((r) => r.recordsPerSec))
  const chronosRps = median(okChronos.map((r) => r.endToEndRecordsPerSec))
  const bullmqMemory = median(okBullmq.map((r) => r.usedMemoryPeakPerRecord))
  const chronosMemory = median(okChronos.map((r) => r.redis?.usedMemoryPeakPerRecord))
  const memoryRatio = bullmqMemory !== null && chronosMemory !== null && bullmqMemory > 0 ? chronosMemory / bullmqMemory : null
  return {
    kind: 'peer',
    records: s.records,
    concurrency: s.concurrency,
    latencyMs: s.latencyMs,
    bullmqRecordsPerSec: bullmqRps,
    chronosRecordsPerSec: chronosRps,
    targetRatio: s.targetRatio,
    ...ratioVerdict(bullmqRps, chronosRps, s.targetRatio, isAllValid),
    ...pairFields(okValues(s.bullmq, (r) => r.recordsPerSec), okValues(s.chronos, (r) => r.endToEndRecordsPerSec)),
    bullmqEnqueueMs: median(okBullmq.map((r) => r.enqueueMs)),
    bullmqCpuUsPerRecord: median(okBullmq.map((r) => r.cpuUsPerRecord)),
    chronosCpuUsPerRecord: median(okChronos.map((r) => r.cpuUsPerRecord)),
    chronosEndToEndCpuUsPerRecord: median(okChronos.map((r) => r.endToEndCpuUsPerRecord)),
    bullmqRedisCpuUsPerRecord: median(okBullmq.map((r) => r.redisCpuUsPerRecord)),
    chronosRedisCpuUsPerRecord: median(okChronos.map((r) => r.redis?.cpuUsPerRecord)),
    // Client + Redis CPU per record, BullMQ's over Chronos's: what the rate ratio tends to
    // when both sides get the cores they need, which a shared 2-core machine does not give.
    cpuRatio: ratioOfSums(okBullmq.map((r) => [r.cpuUsPerRecord, r.redisCpuUsPerRecord]), okChronos.map((r) => [r.endToEndCpuUsPerRecord, r.redis?.cpuUsPerRecord])),
    ...shareFields('bullmq', s.bullmq),
    ...shareFields('chronos', s.chronos),
    bullmqUsedMemoryPeakPerRecord: bullmqMemory,
    chronosUsedMemoryPeakPerRecord: chronosMemory,
    memoryRatio,
    memoryTargetRatio: s.memoryTargetRatio,
    memoryPass: isAllValid && memoryRatio !== null && memoryRatio <= s.memoryTargetRatio
  }
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

type Row = Record<string, string | number | null | boolean | undefined>

export function renderTable (summary: Record<string, unknown>, heading: string): string {
  const out: string[] = [heading, '']
  const entries = Object.entries(summary) as Array<[string, Row]>
  const delivery = entries.filter(([, s]) => s['kind'] === 'delivery')
  const ingests = entries.filter(([, s]) => s['kind'] === 'ingest')
  const peers = entries.filter(([, s]) => s['kind'] === 'peer')
  if (delivery.length > 0) {
    out.push(table([
      ['scenario', 'N', 'C', 'target ms', 'raw rec/s', 'chronos rec/s', 'ratio', 'target', 'result', 'CPU µs/rec raw', 'chronos'],
      ...delivery.map(([name, s]) => [name, fmt(s['records'] as number), String(s['concurrency']), String(s['latencyMs']),
        fmt(s['rawRecordsPerSec'] as number | null), fmt(s['chronosRecordsPerSec'] as number | null), fmt(s['ratio'] as number | null, 3),
        `>= ${fmt(s['targetRatio'] as number, 2)}`, verdict(s['pass'], s['ratio']),
        fmt(s['rawCpuUsPerRecord'] as number | null, 1), fmt(s['chronosCpuUsPerRecord'] as number | null, 1)])
    ]), '')
  }
  if (ingests.length > 0) {
    out.push(table([
      ['ingest (to 202)', 'format', 'payload', 'N', 'MB', 'raw MB/s', 'chronos MB/s', 'ratio', 'target', 'result', 'CPU ms/MB raw', 'chronos', 'chronos peak RSS'],
      ...ingests.map(([name, s]) => [name, String(s['format']), String(s['payload'] ?? 'string'), fmt(s['records'] as number), fmt((s['bytes'] as number) / 1e6, 1),
        fmt(s['rawMBPerSec'] as number | null, 1), fmt(s['chronosMBPerSec'] as number | null, 1), fmt(s['ratio'] as number | null, 3),
        `>= ${fmt(s['targetRatio'] as number, 2)}`, verdict(s['pass'], s['ratio']),
        fmt(s['rawCpuMsPerMB'] as number | null, 2), fmt(s['chronosCpuMsPerMB'] as number | null, 2), mb(s['peakRssBytes'] as number | null)])
    ]), '')
  }
  const ingestRss = summary['ingestPeakRss'] as Row | undefined
  if (ingestRss !== undefined) {
    out.push(table([
      ['upload peak RSS (VmHWM)', 'NDJSON', 'JSON', 'JSON over NDJSON', 'target', 'result'],
      [`${fmt((ingestRss['ndjsonBytes'] as number) / 1e6)} / ${fmt((ingestRss['jsonBytes'] as number) / 1e6)} MB`,
        mb(ingestRss['ndjsonPeakRssBytes'] as number | null), mb(ingestRss['jsonPeakRssBytes'] as number | null),
        `${fmt(ingestRss['excessPercent'] as number | null, 1)} %`, `<= ${LIMITS.jsonIngestRssPercent} %`, verdict(ingestRss['pass'], ingestRss['excessPercent'])]
    ]), '')
  }
  if (peers.length > 0) out.push(renderPeers(peers), '')
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
      ['per scenario (chronos)', 'redis round trips/rec', 'redis commands/rec', 'redis bytes/rec', 'used_memory Δ/rec', 'peak Δ/rec', 'event-loop p99 ms', '/status p99 ms', 'peak RSS'],
      ...delivery.map(([name, s]) => [name, fmt(s['redisRoundTripsPerRecord'] as number | null, 5), fmt(s['redisCommandsPerRecord'] as number | null, 5),
        fmt(s['redisBytesPerRecord'] as number | null, 1), fmt(s['redisUsedMemoryPerRecord'] as number | null, 1), fmt(s['redisUsedMemoryPeakPerRecord'] as number | null, 1),
        fmt(s['eventLoopP99Ms'] as number | null, 1), fmt(s['statusPollP99Ms'] as number | null, 1), mb(s['peakRssBytes'] as number | null)]),
      ['target', `<= ${fmt(LIMITS.roundTripsPerRecord, 3)} (1/500)`, '-', `<= ${LIMITS.redisBytesPerRecord}`, '-', '-', `< ${LIMITS.eventLoopP99Ms}`, '-', `<= ${mb(LIMITS.peakRssBytes)}`]
    ]))
    out.push(
      '',
      'Redis round trips = socket reads (INFO total_reads_processed: one per command batch that arrives together,',
      'a pipeline or a MULTI...EXEC sent in one write); commands = total_commands_processed, which also counts',
      'MULTI, EXEC, every command inside them and every redis.call() inside EVAL/EVALSHA. Both are taken over the',
      'whole job (upload, delivery, status flushes) minus the measured cost of the bench\'s own GET /status polls.',
      'Redis bytes = MEMORY USAGE summed over the job\'s keys after it ended, per record; used_memory Δ = used_memory',
      'after the job minus before it (fresh FLUSHALLed Redis), which also counts allocator slack and client buffers;',
      'peak Δ = the highest used_memory sampled every 100 ms from the upload to the end, minus before.',
      'CPU µs/rec = the client process\'s user + system CPU time over the run, per record (Chronos: from the 202 to',
      'the poll that saw it complete): the cost of a record, which machine noise moves less than records/s.'
    )
  }
  const paired = [...delivery, ...ingests, ...peers]
  if (paired.length > 0) out.push(...(out.at(-1) === '' ? [] : ['']), renderPairs(paired))
  return out.join('\n')
}

const share = (s: Row, side: string): string => {
  const onCpu = s[`${side}MainThreadOnCpu`] as number | null | undefined
  const waiting = s[`${side}MainThreadWaiting`] as number | null | undefined
  return onCpu === null || onCpu === undefined ? '-' : `${fmt(onCpu, 2)} / ${fmt(waiting, 2)}`
}

/** Every ABBA pair's ratio and their spread, and each side's main thread: one run, read on its own. */
function renderPairs (entries: Array<[string, Row]>): string {
  const rows = entries.map(([name, s]) => {
    const rival = s['kind'] === 'peer' ? 'bullmq' : 'raw'
    const pairs = (s['pairRatios'] as Array<number | null> | undefined) ?? []
    return [`${name} (÷ ${rival})`, pairs.length === 0 ? 'n/a' : pairs.map((r) => fmt(r, 3)).join(' · '),
      s['pairRatioMin'] === null || s['pairRatioMin'] === undefined ? 'n/a' : `${fmt(s['pairRatioMin'] as number, 3)}–${fmt(s['pairRatioMax'] as number, 3)}`,
      `${fmt(s['ratio'] as number | null, 3)}`, share(s, rival), share(s, 'chronos')]
  })
  return [
    table([['ABBA pairs, chronos ÷ rival', 'pair ratios (run order)', 'spread', 'ratio of medians', 'main thread on core / waiting: rival', 'chronos'], ...rows]),
    '',
    'A pair is the two runs made back to back (raw, chronos | chronos, raw | ...), so its ratio is free of the',
    'drift between pairs. Main thread = /proc/<pid>/task/<pid>/schedstat over the timed part of a run (median',
    'of the runs): the share of the wall time it ran on a core, and the share it was runnable but waiting for one.',
    'Rate = on-core share / CPU per record, so a run that lost to its pair while waiting more lost to the machine.'
  ].join('\n')
}

function renderPeers (entries: Array<[string, Row]>): string {
  return [
    table([
      ['peer (file to all delivered)', 'N', 'C', 'target ms', 'bullmq rec/s', 'chronos rec/s', 'ratio', 'target', 'result',
        'Redis peak Δ/rec bullmq', 'chronos', 'ratio', 'target', 'result', 'CPU µs/rec bullmq', 'chronos', 'Redis CPU µs/rec bullmq', 'chronos', 'CPU bullmq ÷ chronos'],
      ...entries.map(([name, s]) => [name, fmt(s['records'] as number), String(s['concurrency']), String(s['latencyMs']),
        fmt(s['bullmqRecordsPerSec'] as number | null), fmt(s['chronosRecordsPerSec'] as number | null), fmt(s['ratio'] as number | null, 2),
        `>= ${fmt(s['targetRatio'] as number, 0)}`, verdict(s['pass'], s['ratio']),
        fmt(s['bullmqUsedMemoryPeakPerRecord'] as number | null, 1), fmt(s['chronosUsedMemoryPeakPerRecord'] as number | null, 1),
        fmt(s['memoryRatio'] as number | null, 3), `<= ${fmt(s['memoryTargetRatio'] as number, 2)}`, verdict(s['memoryPass'], s['memoryRatio']),
        fmt(s['bullmqCpuUsPerRecord'] as number | null, 1), fmt(s['chronosEndToEndCpuUsPerRecord'] as number | null, 1),
        fmt(s['bullmqRedisCpuUsPerRecord'] as number | null, 1), fmt(s['chronosRedisCpuUsPerRecord'] as number | null, 1), fmt(s['cpuRatio'] as number | null, 2)])
    ]),
    '',
    'BullMQ: Queue.addBulk of 1,000-record chunks streamed from the file while a Worker at concurrency C posts',
    'each payload with undici (finished jobs past 1,000 completed / 5,000 failed removed), timed from the first',
    'addBulk to the last job done; Chronos: from the start of the upload to completed. Redis peak Δ = the highest',
    'used_memory sampled every 100 ms minus the one before the run, per record. CPU: each client process over its',
    'timed run (Chronos\'s from the start of the upload); Redis CPU: redis-server\'s user + system time (INFO cpu)',
    'over the same run, where BullMQ\'s Lua scripts spend theirs. CPU bullmq ÷ chronos = (client + Redis) over',
    '(client + Redis): the rate ratio two sides that each had the cores they need would show.'
  ].join('\n')
}
