// RateLimiter: at most perSecond starts in any one-second window (DESIGN §1 rate_limit), with
// explicit clock times so every case is exact.
import { expect } from 'chai'
import { RateLimiter } from '../../lib/delivery/rate-limiter.js'
import { seededRandom } from '../helpers/seeded-random.js'

/** Reserves one start per arrival time; returns the start times it granted. */
function startsFor (limiter: RateLimiter, arrivals: readonly number[]): number[] {
  return arrivals.map((nowMs) => nowMs + limiter.reserve(nowMs))
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

describe('RateLimiter', () => {
  describe('reserve()', () => {
    it('lets the first perSecond starts go at once', () => {
      const limiter = new RateLimiter(3)
      expect([limiter.reserve(0), limiter.reserve(0), limiter.reserve(0)]).to.deep.equal([0, 0, 0])
    })

    it('delays the next start until a second after the start perSecond before it', () => {
      const limiter = new RateLimiter(3)
      expect(startsFor(limiter, [0, 10, 20, 30, 40, 50, 60])).to.deep.equal([0, 10, 20, 1000, 1010, 1020, 2000])
    })

    it('returns the wait from the given time, not the start time', () => {
      const limiter = new RateLimiter(1)
      expect(limiter.reserve(100)).to.equal(0)
      expect(limiter.reserve(300)).to.equal(800)
      expect(limiter.reserve(300)).to.equal(1800)
    })

    it('does not wait once a second has passed since the start perSecond before', () => {
      const limiter = new RateLimiter(2)
      startsFor(limiter, [0, 0])
      expect(limiter.reserve(999)).to.equal(1)
      expect(limiter.reserve(1500)).to.equal(0)
      expect(limiter.reserve(5000)).to.equal(0)
    })

    it('allows one start a second with perSecond 1', () => {
      const limiter = new RateLimiter(1)
      expect(startsFor(limiter, [0, 0, 0, 0])).to.deep.equal([0, 1000, 2000, 3000])
    })

    it('holds at most perSecond starts in any one-second window, not only aligned ones', () => {
      for (const perSecond of [1, 2, 5, 17, 100]) {
        const random = seededRandom(perSecond)
        const limiter = new RateLimiter(perSecond)
        // Bursts and gaps: arrivals in nondecreasing order, as a sender's clock gives them.
        const arrivals: number[] = []
        let now = 0
        for (let i = 0; i < 2000; i++) {
          now += random() < 0.8 ? 0 : random() * 700
          arrivals.push(now)
        }
        const starts = startsFor(limiter, arrivals)
        for (let i = 0; i < starts.length; i++) {
          expect(starts[i], 'never before its arrival').to.be.at.least(arrivals[i] as number)
          if (i > 0) expect(starts[i], 'starts keep their order').to.be.at.least(starts[i - 1] as number)
          if (i >= perSecond) expect((starts[i] as number) - (starts[i - perSecond] as number)).to.be.at.least(1000)
        }
        expect(busiestSecond(starts), `perSecond ${perSecond}`).to.be.at.most(perSecond)
      }
    })

    it('uses the full budget: a steady stream starts perSecond times a second', () => {
      const limiter = new RateLimiter(10)
      const starts = startsFor(limiter, Array.from({ length: 100 }, () => 0))
      expect(starts[99]).to.equal(9000)
      expect(busiestSecond(starts)).to.equal(10)
    })

    it('defaults nowMs to the monotonic clock', () => {
      const limiter = new RateLimiter(1)
      expect(limiter.reserve()).to.equal(0)
      const wait = limiter.reserve()
      expect(wait).to.be.above(900).and.at.most(1000)
    })
  })

  describe('release()', () => {
    it('gives back the last reservations, which were still waiting', () => {
      const limiter = new RateLimiter(2)
      expect(startsFor(limiter, [0, 0, 0, 0, 0])).to.deep.equal([0, 0, 1000, 1000, 2000])
      limiter.release(3)
      // As if only the first two had been reserved: the next start may go at 1000.
      expect(startsFor(limiter, [100, 1200, 1200])).to.deep.equal([1000, 1200, 2000])
    })

    it('leaves the limiter exactly as if the released reservations had never been made', () => {
      for (const perSecond of [1, 3, 10]) {
        const random = seededRandom(perSecond + 100)
        const released = new RateLimiter(perSecond)
        const fresh = new RateLimiter(perSecond)
        let now = 0
        for (let round = 0; round < 50; round++) {
          // A burst: some reservations start at once, the rest wait and are taken back.
          const burst = 1 + Math.floor(random() * 3 * perSecond)
          const waits = Array.from({ length: burst }, () => released.reserve(now))
          const kept = waits.filter((wait) => wait === 0).length
          released.release(burst - kept)
          for (let i = 0; i < kept; i++) expect(fresh.reserve(now)).to.equal(0)
          now += random() * 1500
        }
        expect(startsFor(released, [now, now, now, now])).to.deep.equal(startsFor(fresh, [now, now, now, now]))
      }
    })
  })
})
