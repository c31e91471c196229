// Log-scale latency buckets: a percentile read off them is within one bucket (5 %) of the truth.
import { expect } from 'chai'
import { bucketUpperMs, latencyBucket, percentileFromBuckets, round2 } from '../../lib/domain/latency-histogram.js'
import { seededRandom } from '../helpers/seeded-random.js'

function histogram (times: readonly number[]): Map<number, number> {
  const buckets = new Map<number, number>()
  for (const time of times) {
    const bucket = latencyBucket(time)
    buckets.set(bucket, (buckets.get(bucket) ?? 0) + 1)
  }
  return buckets
}

/** Nearest-rank percentile of the raw data. */
function truePercentile (times: readonly number[], percentile: number): number {
  const sorted = [...times].sort((a, b) => a - b)
  const rank = Math.max(Math.ceil((percentile / 100) * sorted.length), 1)
  return sorted[rank - 1] as number
}

describe('latencyBucket()', () => {
  const cases: Array<[number, number]> = [
    [0, 0], [0.5, 0], [0.999, 0], [-3, 0], [Number.NaN, 0],
    [1, 1], [1.04, 1], [1.06, 2], [1.1, 2], [1.2, 4], [100, 95], [1000, 142], [30_000, 212]
  ]
  for (const [timeMs, bucket] of cases) {
    it(`puts ${timeMs} ms in bucket ${bucket}`, () => {
      expect(latencyBucket(timeMs)).to.equal(bucket)
    })
  }

  it('puts every time ≥ 1 ms in a bucket whose upper bound is at least the time and at most 5 % above it', () => {
    const random = seededRandom(1)
    for (let i = 0; i < 10_000; i++) {
      const timeMs = 1 + random() * 120_000
      const upper = bucketUpperMs(latencyBucket(timeMs))
      expect(upper).to.be.at.least(timeMs * (1 - 1e-12))
      expect(upper).to.be.at.most(timeMs * 1.05 * (1 + 1e-12))
    }
  })

  it('never decreases as the time grows', () => {
    let previous = 0
    for (let timeMs = 0; timeMs < 5000; timeMs += 0.37) {
      const bucket = latencyBucket(timeMs)
      expect(bucket).to.be.at.least(previous)
      previous = bucket
    }
  })

  it('keeps the number of buckets small for any realistic time', () => {
    expect(latencyBucket(3_600_000)).to.be.below(400)
  })
})

describe('bucketUpperMs()', () => {
  const cases: Array<[number, number]> = [[0, 1], [1, 1.05], [2, 1.1025]]
  for (const [bucket, upper] of cases) {
    it(`gives ${upper} ms for bucket ${bucket}`, () => {
      expect(bucketUpperMs(bucket)).to.be.closeTo(upper, 1e-9)
    })
  }
})

describe('round2()', () => {
  const cases: Array<[number, number]> = [[1.234, 1.23], [1.235, 1.24], [2, 2], [0.005, 0.01], [99.999, 100]]
  for (const [value, rounded] of cases) {
    it(`rounds ${value} to ${rounded}`, () => {
      expect(round2(value)).to.equal(rounded)
    })
  }
})

describe('percentileFromBuckets()', () => {
  it('answers null for no data', () => {
    expect(percentileFromBuckets(new Map(), 50, 0, 0)).to.equal(null)
    expect(percentileFromBuckets(new Map([[3, 0]]), 50, 0, 0)).to.equal(null)
  })

  it('answers the single time of a one-record job', () => {
    const buckets = histogram([42.5])
    for (const p of [0, 50, 99, 100]) expect(percentileFromBuckets(buckets, p, 42.5, 42.5)).to.equal(42.5)
  })

  it('clamps into [min, max] so it never reports a time no record took', () => {
    const times = [0.2, 0.3, 0.4]
    expect(percentileFromBuckets(histogram(times), 50, 0.2, 0.4)).to.equal(0.4)
    const slow = [10.01, 10.02]
    expect(percentileFromBuckets(histogram(slow), 100, 10.01, 10.02)).to.equal(10.02)
  })

  it('reads buckets whatever order the map holds them in', () => {
    const buckets = new Map([[100, 1], [1, 98], [50, 1]])
    expect(percentileFromBuckets(buckets, 50, 0, 1000)).to.equal(round2(bucketUpperMs(1)))
    expect(percentileFromBuckets(buckets, 99, 0, 1000)).to.equal(round2(bucketUpperMs(50)))
    expect(percentileFromBuckets(buckets, 100, 0, 1000)).to.equal(round2(bucketUpperMs(100)))
  })

  const distributions: Array<[string, (random: () => number) => number]> = [
    ['uniform 1–1000 ms', (random) => 1 + random() * 999],
    ['log-uniform 0.5 ms–60 s', (random) => 0.5 * Math.exp(random() * Math.log(120_000))],
    ['exponential, mean 40 ms', (random) => -40 * Math.log(1 - random())],
    ['bimodal: fast hits and 2 s timeouts', (random) => random() < 0.9 ? 5 + random() * 10 : 2000 + random() * 50]
  ]
  for (const [name, draw] of distributions) {
    for (const count of [1, 7, 1000, 20_000]) {
      it(`is within one bucket of the true p50, p95 and p99 for ${count} times, ${name}`, () => {
        const random = seededRandom(count * 7919 + name.length)
        const times = Array.from({ length: count }, () => round2(draw(random)))
        const buckets = histogram(times)
        const min = Math.min(...times)
        const max = Math.max(...times)
        for (const p of [50, 95, 99, 100]) {
          const truth = truePercentile(times, p)
          const estimate = percentileFromBuckets(buckets, p, min, max)
          expect(estimate, `p${p}`).to.be.a('number')
          // The estimate is the upper bound of the true value's bucket: ≥ the truth and at
          // most one bucket (×1.05) above it, or 1 ms for bucket 0; plus 0.01 ms of rounding.
          expect(estimate, `p${p}`).to.be.at.least(truth - 0.01)
          expect(estimate, `p${p}`).to.be.at.most(Math.max(truth * 1.05, 1) + 0.01)
          expect(estimate, `p${p}`).to.be.within(min - 0.01, max + 0.01)
        }
      })
    }
  }
})
