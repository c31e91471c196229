// RateLimiter: GCRA even pacing (DESIGN §8 rate_limit, rate_burst), with explicit clock
// times so every case is exact.
import { expect } from 'chai'
import { RateLimiter } from '../../lib/delivery/rate-limiter.js'
import { seededRandom } from '../helpers/seeded-random.js'

/**
 * Starts each arrival, in order (FIFO, like the rate gate), as soon as the limiter allows;
 * `lateMs` adds timer lateness to every wait. Returns the start times.
 */
function startsFor (limiter: RateLimiter, arrivals: readonly number[], lateMs: () => number = () => 0): number[] {
  const starts: number[] = []
  let previous = -Infinity
  for (const arrival of arrivals) {
    let now = Math.max(arrival, previous)
    for (let wait = limiter.tryStart(now); wait > 0; wait = limiter.tryStart(now)) now += wait + lateMs()
    starts.push(now)
    previous = now
  }
  return starts
}

/** The most starts in any half-open window [t, t + 1000). */
function busiestSecond (starts: readonly number[]): number {
  const sorted = [...starts].sort((a, b) => a - b)
  let most = 0
  let first = 0
  for (let last = 0; last < sorted.length; last++) {
    while ((sorted[last] as number) - (sorted[first] as number) >= 1000) first++
    most = Math.max(most, last - first + 1)
  }
  return most
}

/** Arrivals in nondecreasing order: mostly bursts, with gaps. */
function burstyArrivals (seed: number, count: number): number[] {
  const random = seededRandom(seed)
  const arrivals: number[] = []
  let now = 0
  for (let i = 0; i < count; i++) {
    now += random() < 0.8 ? 0 : random() * 700
    arrivals.push(now)
  }
  return arrivals
}

describe('RateLimiter (GCRA)', () => {
  describe('tryStart()', () => {
    it('spaces starts 1000 / perSecond ms apart with the default burst of 1', () => {
      expect(startsFor(new RateLimiter(4), [0, 0, 0, 0, 0])).to.deep.equal([0, 250, 500, 750, 1000])
      expect(startsFor(new RateLimiter(1), [0, 0, 0])).to.deep.equal([0, 1000, 2000])
    })

    it('lets `burst` starts go at once after an idle spell, then paces them', () => {
      const limiter = new RateLimiter(10, 3)
      expect(startsFor(limiter, [0, 0, 0, 0, 0])).to.deep.equal([0, 0, 0, 100, 200])
      // Idle long enough to earn the whole burst back, and no more.
      expect(startsFor(limiter, [5000, 5000, 5000, 5000])).to.deep.equal([5000, 5000, 5000, 5100])
    })

    it('earns the burst back one interval at a time', () => {
      const limiter = new RateLimiter(10, 3)
      startsFor(limiter, [0, 0, 0]) // tat = 300
      // At 150 one and a half intervals are earned back: one start at once, the next at 200.
      expect(startsFor(limiter, [150, 150])).to.deep.equal([150, 200])
    })

    it('counts nothing when it answers a wait', () => {
      const limiter = new RateLimiter(2)
      expect(limiter.tryStart(0)).to.equal(0)
      expect(limiter.tryStart(100)).to.equal(400)
      expect(limiter.tryStart(100)).to.equal(400)
      expect(limiter.tryStart(500)).to.equal(0)
      expect(limiter.tryStart(600)).to.equal(400)
    })

    it('clamps the burst to 1..perSecond', () => {
      expect(startsFor(new RateLimiter(2, 0), [0, 0])).to.deep.equal([0, 500])
      expect(startsFor(new RateLimiter(2, 9), [0, 0, 0])).to.deep.equal([0, 0, 500])
    })

    it('holds at most perSecond + burst starts in any one-second window, timers late or not', () => {
      for (const [perSecond, burst] of [[1, 1], [2, 2], [5, 1], [17, 4], [20, 1], [100, 10], [500, 1], [500, 50]] as const) {
        const random = seededRandom(perSecond * 31 + burst)
        for (const late of [() => 0, () => random() * 30]) {
          const arrivals = burstyArrivals(perSecond + burst, 3000)
          const starts = startsFor(new RateLimiter(perSecond, burst), arrivals, late)
          for (let i = 0; i < starts.length; i++) expect(starts[i], 'never before its arrival').to.be.at.least(arrivals[i] as number)
          expect(busiestSecond(starts), `${perSecond}/s burst ${burst}`).to.be.at.most(perSecond + burst)
        }
      }
    })

    it('uses the full budget: a steady stream starts perSecond times a second', () => {
      const starts = startsFor(new RateLimiter(10), Array.from({ length: 100 }, () => 0))
      expect(starts[99]).to.equal(9900)
      expect(busiestSecond(starts)).to.equal(10)
    })

    it('defaults nowMs to the monotonic clock', () => {
      const limiter = new RateLimiter(1)
      expect(limiter.tryStart()).to.equal(0)
      expect(limiter.tryStart()).to.be.above(900).and.at.most(1000)
    })
  })
})
