// The bench's ABBA pair ratios and their spread (issue 17): what one run's table says about
// each pair, beside the ratio of medians, and the peer scenario's two verdicts. The bench
// itself is not in `make test` (it takes minutes); these are the parts that decide what it
// reports.
import { expect } from 'chai'
import type { ChronosRunResult } from '../../scripts/bench/chronos-run.js'
import { summarize, type DeliveryScenario, type PeerRunResult, type PeerScenario, type RawRunResult } from '../../scripts/bench/report.js'
import { medianShare, pairRatios, spread } from '../../scripts/bench/stats.js'

describe('bench: ABBA pairs', function () {
  it('divides the i-th Chronos run by the i-th rival run, one ratio per pair', function () {
    expect(pairRatios([100, 200, 400], [90, 220, 200])).to.deep.equal([0.9, 1.1, 0.5])
  })

  it('gives a pair with a failed run (null) or a zero rival no ratio, and drops an unpaired tail', function () {
    expect(pairRatios([100, null, 0, 50], [80, 90, 70])).to.deep.equal([0.8, null, null])
    expect(pairRatios([], [1])).to.deep.equal([])
  })

  it('spreads over the known ratios only', function () {
    expect(spread([0.9, null, 1.1, 0.5])).to.deep.equal({ min: 0.5, max: 1.1 })
    expect(spread([null])).to.equal(null)
  })

  it('takes the median of each main-thread share on its own', function () {
    const shares = [{ onCpu: 0.9, waiting: 0.05 }, null, { onCpu: 0.7, waiting: 0.25 }, { onCpu: 0.8, waiting: 0.01 }]
    expect(medianShare(shares)).to.deep.equal({ onCpu: 0.8, waiting: 0.05 })
    expect(medianShare([null])).to.equal(null)
  })

  function shape<K extends 'delivery' | 'peer'> (kind: K, name: string, targetRatio: number): { kind: K, name: string, records: number, concurrency: number, latencyMs: number, targetRatio: number } {
    return { kind, name, records: 10, concurrency: 64, latencyMs: 0, targetRatio }
  }

  function raw (recordsPerSec: number | null): RawRunResult {
    const ok = recordsPerSec !== null
    return { ok, error: ok ? null : 'failed', records: 10, ms: 1000, recordsPerSec, cpuUsPerRecord: 40, delivered: 10, mainThread: { onCpu: 0.9, waiting: 0.05 } }
  }

  function chronos (recordsPerSec: number, endToEndRecordsPerSec: number, peakPerRecord: number): ChronosRunResult {
    return {
      ok: true,
      error: null,
      records: 10,
      uploadMs: 10,
      ms: 1000,
      recordsPerSec,
      endToEndMs: 1010,
      endToEndRecordsPerSec,
      mainThread: { onCpu: 0.8, waiting: 0.1 },
      cpuUsPerRecord: 45,
      endToEndCpuUsPerRecord: 46,
      finalStatus: null,
      delivered: 10,
      redis: {
        roundTrips: 1,
        commands: 10,
        pollRoundTrips: 0,
        pollCommands: 0,
        roundTripsPerRecord: 0.001,
        commandsPerRecord: 1,
        bytesPerRecord: 25,
        usedMemoryPerRecord: 30,
        usedMemoryPeakPerRecord: peakPerRecord,
        cpuUsPerRecord: 5,
        commandCalls: {}
      },
      eventLoopP99Ms: 10,
      statusPollP99Ms: 5,
      polls: 10,
      peakRssBytes: 100 * 1048576,
      stopMs: 50,
      wasKilled: false
    }
  }

  it('puts each delivery pair, the spread and the main threads in the summary, keeping the older fields', function () {
    const cpu: DeliveryScenario = {
      ...shape('delivery', 'cpu', 0.9),
      sequence: ['raw', 'chronos', 'chronos', 'raw'],
      raw: [raw(20_000), raw(25_000)],
      chronos: [chronos(18_000, 17_000, 30), chronos(25_000, 24_000, 30)]
    }
    const summary = summarize([cpu], 2)['cpu'] as Record<string, unknown>
    expect(summary['pairRatios']).to.deep.equal([0.9, 1])
    expect(summary).to.include({ pairRatioMin: 0.9, pairRatioMax: 1, rawMainThreadOnCpu: 0.9, chronosMainThreadWaiting: 0.1 })
    // The ratio of medians (21,500 / 22,500) is not the median of the pairs: both are shown.
    expect(summary['ratio']).to.be.closeTo(21_500 / 22_500, 1e-12)
    // Result files stay readable: the fields before issue 17 are all still there.
    expect(summary).to.include.keys('rawRecordsPerSec', 'chronosRecordsPerSec', 'rawCpuUsPerRecord', 'chronosCpuUsPerRecord',
      'pass', 'peakRssBytes', 'redisRoundTripsPerRecord', 'redisBytesPerRecord', 'redisUsedMemoryPerRecord', 'eventLoopP99Ms')

    const broken: DeliveryScenario = { ...cpu, raw: [raw(20_000), raw(null)] }
    const withFailure = summarize([broken], 2)['cpu'] as Record<string, unknown>
    expect(withFailure['pairRatios']).to.deep.equal([0.9, null])
    expect(withFailure).to.include({ pairRatioMin: 0.9, pairRatioMax: 0.9, pass: false })
  })

  function bullmq (recordsPerSec: number, peakPerRecord: number): PeerRunResult {
    return { ...raw(recordsPerSec), enqueueMs: 100, usedMemoryPeakPerRecord: peakPerRecord, usedMemoryPerRecord: 100, redisCpuUsPerRecord: 60 }
  }

  it('judges the peer scenario end to end and on Redis memory per record at the peak', function () {
    const peer: PeerScenario = {
      ...shape('peer', 'peer', 4),
      memoryTargetRatio: 1 / 20,
      sequence: ['bullmq', 'chronos', 'chronos', 'bullmq'],
      bullmq: [bullmq(5000, 600), bullmq(4000, 500)],
      // Delivery alone (recordsPerSec) would pass; end to end is what counts.
      chronos: [chronos(30_000, 19_000, 24), chronos(30_000, 20_000, 30)]
    }
    const summary = summarize([peer], 2)['peer'] as Record<string, unknown>
    expect(summary['pairRatios']).to.deep.equal([3.8, 5])
    expect(summary).to.include({ kind: 'peer', pairRatioMin: 3.8, pairRatioMax: 5, bullmqRecordsPerSec: 4500, chronosRecordsPerSec: 19_500 })
    expect(summary['ratio']).to.be.closeTo(19_500 / 4500, 1e-12)
    expect(summary['pass']).to.equal(true)
    expect(summary['memoryRatio']).to.be.closeTo(27 / 550, 1e-12)
    expect(summary['memoryPass']).to.equal(true)
    // (40 + 60) µs of client and Redis CPU per BullMQ record, (46 + 5) per Chronos record.
    expect(summary['cpuRatio']).to.be.closeTo(100 / 51, 1e-12)

    const heavy = summarize([{ ...peer, chronos: [chronos(30_000, 19_000, 40), chronos(30_000, 20_000, 30)] }], 2)['peer'] as Record<string, unknown>
    expect(heavy['memoryRatio']).to.be.closeTo(35 / 550, 1e-12)
    expect(heavy['memoryPass']).to.equal(false)
  })
})
