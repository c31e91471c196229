// AdaptiveLimit: AIMD with slow start (DESIGN §8 adaptive_concurrency).
import { expect } from 'chai'
import { AdaptiveLimit, BACKOFF, INITIAL_LIMIT } from '../../lib/delivery/adaptive-limit.js'

describe('AdaptiveLimit', () => {
  it(`starts at ${INITIAL_LIMIT}, or at the ceiling when lower`, () => {
    expect(new AdaptiveLimit(64).current).to.equal(INITIAL_LIMIT)
    expect(new AdaptiveLimit(2).current).to.equal(2)
  })

  it('doubles per round trip while below the threshold (slow start), never past the ceiling', () => {
    const limit = new AdaptiveLimit(20)
    for (let i = 0; i < INITIAL_LIMIT; i++) limit.grow(limit.current)
    expect(limit.current).to.equal(2 * INITIAL_LIMIT)
    for (let i = 0; i < 100; i++) limit.grow(limit.current)
    expect(limit.current).to.equal(20)
  })

  it('does not grow while the job uses less than half of it', () => {
    const limit = new AdaptiveLimit(64)
    for (let i = 0; i < 100; i++) limit.grow(1)
    expect(limit.current).to.equal(INITIAL_LIMIT)
  })

  it(`cuts by ${BACKOFF}, then grows by one per round trip (congestion avoidance)`, () => {
    const limit = new AdaptiveLimit(64)
    for (let i = 0; i < 16; i++) limit.grow(limit.current)
    expect(limit.current).to.equal(20)
    limit.cut(0)
    expect(limit.current).to.equal(Math.floor(20 * BACKOFF))
    const after = limit.current
    // About one round trip (as many answers as the limit, and one) adds one; the next adds one more.
    for (let i = 0; i <= after; i++) limit.grow(limit.current)
    expect(limit.current).to.equal(after + 1)
    for (let i = 0; i <= after + 1; i++) limit.grow(limit.current)
    expect(limit.current).to.equal(after + 2)
  })

  it('cuts once per generation: attempts launched before the last cut cannot cut again', () => {
    const limit = new AdaptiveLimit(64)
    for (let i = 0; i < 28; i++) limit.grow(limit.current)
    expect(limit.current).to.equal(32)
    const launchedAt = limit.cuts
    for (let i = 0; i < 10; i++) limit.cut(launchedAt)
    expect(limit.current).to.equal(Math.floor(32 * BACKOFF))
    limit.cut(limit.cuts)
    expect(limit.current).to.equal(Math.floor(32 * BACKOFF * BACKOFF))
  })

  it('never goes below 1', () => {
    const limit = new AdaptiveLimit(64)
    for (let i = 0; i < 50; i++) limit.cut(limit.cuts)
    expect(limit.current).to.equal(1)
  })
})
