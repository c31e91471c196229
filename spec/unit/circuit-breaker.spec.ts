// CircuitBreaker: when a job's target looks down (DESIGN §8), with explicit clock times.
import { expect } from 'chai'
import {
  CircuitBreaker, FAILURE_RATIO, FIRST_PROBE_MS, MAX_PROBE_MS, MIN_VOLUME, STREAK, WINDOW_MS
} from '../../lib/delivery/circuit-breaker.js'

/** Records `count` outcomes at `atMs`; true if one of them opened the circuit. */
function feed (breaker: CircuitBreaker, count: number, isOutage: boolean, atMs: number): boolean {
  let opened = false
  for (let i = 0; i < count; i++) opened = breaker.record(isOutage, atMs) || opened
  return opened
}

describe('CircuitBreaker', () => {
  it('starts closed', () => {
    const breaker = new CircuitBreaker()
    expect(breaker.state).to.equal('closed')
    expect(breaker.opens).to.equal(0)
  })

  describe('a sudden outage: STREAK outage-like outcomes in a row', () => {
    it(`opens on the ${STREAK}th, however many successes came before`, () => {
      const breaker = new CircuitBreaker()
      feed(breaker, 10_000, false, 0)
      expect(feed(breaker, STREAK - 1, true, 100)).to.equal(false)
      expect(breaker.record(true, 100)).to.equal(true)
      expect(breaker).to.include({ state: 'open', opens: 1, openedAt: 100, probeAt: 100 + FIRST_PROBE_MS })
    })

    it('starts the streak again after any other outcome (a 400 is a target that is up)', () => {
      const breaker = new CircuitBreaker()
      for (let i = 0; i < 50; i++) {
        feed(breaker, 10_000, false, i * WINDOW_MS)
        feed(breaker, STREAK - 1, true, i * WINDOW_MS)
        breaker.record(false, i * WINDOW_MS)
      }
      expect(breaker.state).to.equal('closed')
      expect(breaker.streak).to.equal(0)
    })
  })

  describe(`a sustained partial outage: ${FAILURE_RATIO * 100} % of at least ${MIN_VOLUME} outcomes in ${WINDOW_MS} ms`, () => {
    it('opens once half of the window failed', () => {
      const breaker = new CircuitBreaker()
      // Alternating: the streak never passes 1.
      let opened = false
      for (let i = 0; i < 40 && !opened; i++) opened = breaker.record(i % 2 === 1, i * 10)
      expect(opened).to.equal(true)
      expect(breaker.state).to.equal('open')
    })

    it(`needs ${MIN_VOLUME} outcomes: fewer never open it on the ratio`, () => {
      const breaker = new CircuitBreaker()
      let opened = false
      for (let i = 0; i < MIN_VOLUME - 1; i++) opened = breaker.record(i % 3 !== 0, 0) || opened
      expect(opened).to.equal(false)
    })

    it('stays closed below the ratio', () => {
      const breaker = new CircuitBreaker()
      let opened = false
      for (let i = 0; i < 10_000; i++) opened = breaker.record(i % 3 === 0, i) || opened
      expect(opened).to.equal(false)
    })

    it('forgets outcomes older than the window', () => {
      const breaker = new CircuitBreaker()
      feed(breaker, 1000, false, 0)
      // Within the window, 15 failures against 1000 successes: far from half.
      for (let i = 0; i < 15; i++) breaker.record(i % 2 === 0, WINDOW_MS / 2)
      expect(breaker.state).to.equal('closed')
      // One window later the successes are gone: 15 failures of 20 outcomes open it.
      let opened = false
      for (let i = 0; i < 20 && !opened; i++) opened = breaker.record(i % 4 !== 0, 2 * WINDOW_MS)
      expect(opened).to.equal(true)
    })

    it('moves its buckets one by one within the window', () => {
      const breaker = new CircuitBreaker()
      feed(breaker, 30, false, 0)
      // 900 ms on: still in the window, 30 successes against 20 failures.
      for (let i = 0; i < 20; i++) breaker.record(i % 2 === 0, WINDOW_MS - 100)
      expect(breaker.state).to.equal('closed')
      // 1.5 buckets later the first bucket (30 successes) fell out: 20 failures of 30 outcomes.
      let opened = false
      for (let i = 0; i < 10 && !opened; i++) opened = breaker.record(true, WINDOW_MS + 500)
      expect(opened).to.equal(true)
    })
  })

  describe('probes', () => {
    function opened (): CircuitBreaker {
      const breaker = new CircuitBreaker()
      feed(breaker, STREAK, true, 1000)
      return breaker
    }

    it('is half_open while a probe is out; a failed probe doubles the wait, up to MAX_PROBE_MS', () => {
      const breaker = opened()
      const waits: number[] = []
      let now = breaker.probeAt
      for (let i = 0; i < 7; i++) {
        breaker.probing()
        expect(breaker.state).to.equal('half_open')
        breaker.probeFailed(now)
        expect(breaker.state).to.equal('open')
        waits.push(breaker.probeAt - now)
        now = breaker.probeAt
      }
      expect(waits).to.deep.equal([10_000, 20_000, 40_000, MAX_PROBE_MS, MAX_PROBE_MS, MAX_PROBE_MS, MAX_PROBE_MS])
      expect(breaker.openedAt, 'the outage started at the first opening').to.equal(1000)
      expect(breaker.opens).to.equal(1)
    })

    it('a withdrawn probe leaves it open with the same schedule', () => {
      const breaker = opened()
      breaker.probing()
      breaker.probeWithdrawn()
      expect(breaker).to.include({ state: 'open', probeAt: 1000 + FIRST_PROBE_MS })
    })

    it('closes with a fresh window: the failures before do not count again', () => {
      const breaker = opened()
      breaker.probing()
      breaker.close()
      expect(breaker.state).to.equal('closed')
      expect(feed(breaker, STREAK - 1, true, 7000)).to.equal(false)
      expect(breaker.record(true, 7000)).to.equal(true)
      expect(breaker.opens).to.equal(2)
      expect(breaker.probeAt, 'a new outage starts at the first wait again').to.equal(7000 + FIRST_PROBE_MS)
    })
  })
})
