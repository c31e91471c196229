// TargetGuard: what a job's target allows it to start (DESIGN §8): the Retry-After hold, the
// circuit breaker with its probes and give-backs, the verdict on records whose attempts ran
// out on an outage, adaptive concurrency. A hand-moved clock; the hooks record what the guard
// asks of its sender.
import { expect } from 'chai'
import { TargetGuard, type TargetGuardOptions } from '../../lib/pipeline/target-guard.js'
import { newWork, type Work } from '../../lib/pipeline/work.js'
import { FIRST_PROBE_MS, STREAK } from '../../lib/delivery/circuit-breaker.js'
import { INITIAL_LIMIT } from '../../lib/delivery/adaptive-limit.js'
import type { Attempt } from '../../lib/delivery/send-record.js'
import type { CircuitState } from '../../lib/domain/job-meta.js'

const OK: Attempt = { ok: true, status: 200, timeMs: 1, error: null }
const BAD_REQUEST: Attempt = { ok: false, status: 400, timeMs: 1, error: 'http_status' }
const REFUSED: Attempt = { ok: false, status: null, timeMs: 1, error: 'connect_error' }
const TOO_MANY: Attempt = { ok: false, status: 429, timeMs: 1, error: 'http_status' }
const TIMED_OUT: Attempt = { ok: false, status: null, timeMs: 200, error: 'timeout' }

interface Rig {
  readonly guard: TargetGuard
  /** Moves the clock. */
  advance: (ms: number) => void
  readonly wakes: number[]
  /** What holdStarts() was given each time. */
  readonly requeued: Work[][]
  /** What the rate gate holds, handed back by holdStarts(). */
  rateHeld: Work[]
  readonly failed: Array<[Work, Attempt]>
  readonly circuits: CircuitState[]
  readonly stuck: number[]
}

function rig (options: Partial<TargetGuardOptions> = {}): Rig {
  let now = 1000
  const state: Rig = {
    guard: null as unknown as TargetGuard,
    advance: (ms) => { now += ms },
    wakes: [],
    requeued: [],
    rateHeld: [],
    failed: [],
    circuits: [],
    stuck: []
  }
  const guard = new TargetGuard({
    maxInFlight: 64,
    onCircuit: (circuit) => state.circuits.push(circuit),
    onCircuitStuck: () => state.stuck.push(now),
    ...options
  }, {
    wake: () => state.wakes.push(now),
    holdStarts: (first) => {
      state.requeued.push(first)
      return state.rateHeld.splice(0)
    },
    fail: (work, attempt) => state.failed.push([work, attempt])
  }, () => now)
  Object.assign(state, { guard })
  return state
}

let nextIndex = 0

/** A record launched and answered `attempt`; its attempts counted as the sender does. */
function attempt (r: Rig, attempt: Attempt, work: Work = newWork({ index: nextIndex++, id: 'r', idJson: '"r"', payload: '{}' }), inFlight = 0): Work {
  r.guard.launching(work)
  work.attempts++
  r.guard.settle(work, attempt, inFlight)
  return work
}

/** Refused connections until the circuit opens: STREAK of them in a row. */
function openCircuit (r: Rig): void {
  for (let i = 0; i < STREAK && r.guard.circuit === 'closed'; i++) attempt(r, REFUSED)
  expect(r.guard.circuit).to.equal('open')
}

function launched (r: Rig, count: number): Work[] {
  return Array.from({ length: count }, () => {
    const work = newWork({ index: nextIndex++, id: 'x', idJson: '"x"', payload: '{}' })
    r.guard.launching(work)
    return work
  })
}

function answer (r: Rig, works: Work[], result: Attempt): void {
  for (const work of works) {
    work.attempts++
    r.guard.settle(work, result, 0)
  }
}

describe('TargetGuard', () => {
  afterEach(() => { nextIndex = 0 })

  it('lets every start go while the circuit is closed and nothing holds', () => {
    const r = rig()
    for (let i = 0; i < 100; i++) attempt(r, OK)
    expect(r.guard.mayStart()).to.equal(true)
    expect(r.guard.limit.current, 'without adaptive concurrency the limit is the concurrency').to.equal(64)
  })

  describe('Retry-After on a 429 or 503', () => {
    it('holds every start until then, and takes back what the rate gate held', () => {
      const r = rig()
      const held = newWork({ index: 99, id: 'h', idJson: '"h"', payload: '{}' })
      r.rateHeld = [held]
      attempt(r, { ...TOO_MANY, retryAfter: '2' })
      expect(r.requeued).to.deep.equal([[]])
      expect(r.guard.mayStart()).to.equal(false)
      r.advance(1999)
      expect(r.guard.mayStart()).to.equal(false)
      r.advance(1)
      expect(r.guard.mayStart()).to.equal(true)
      expect(r.guard.circuit, 'a 429 is no outage').to.equal('closed')
    })

    it('keeps the later of two holds', () => {
      const r = rig()
      attempt(r, { ...TOO_MANY, retryAfter: '5' })
      attempt(r, { ...TOO_MANY, status: 503, retryAfter: '1' })
      r.advance(4000)
      expect(r.guard.mayStart()).to.equal(false)
      r.advance(1000)
      expect(r.guard.mayStart()).to.equal(true)
    })

    it('ignores Retry-After on other statuses', () => {
      const r = rig()
      attempt(r, { ...BAD_REQUEST, retryAfter: '5' })
      expect(r.guard.mayStart()).to.equal(true)
    })
  })

  describe('the verdict on a record whose attempts ran out on an outage-like failure', () => {
    it('waits for the next answer that is not outage-like: the target is up, the failure stands', () => {
      const r = rig()
      const work = attempt(r, REFUSED)
      expect(r.guard.holdsForVerdict(work, REFUSED)).to.equal(true)
      expect(r.guard.awaiting).to.equal(1)
      attempt(r, REFUSED)
      expect(r.failed).to.have.length(0)
      attempt(r, BAD_REQUEST)
      expect(r.failed).to.deep.equal([[work, REFUSED]])
      expect(r.guard.awaiting).to.equal(0)
    })

    it('is not asked for a record whose last failure was an answer', () => {
      const r = rig()
      const work = attempt(r, BAD_REQUEST)
      expect(r.guard.holdsForVerdict(work, BAD_REQUEST)).to.equal(false)
    })

    it('gets its attempts back when the circuit opens meanwhile', () => {
      const r = rig()
      const work = attempt(r, REFUSED)
      attempt(r, REFUSED, work)
      attempt(r, REFUSED, work)
      r.guard.holdsForVerdict(work, REFUSED)
      openCircuit(r)
      expect(r.requeued.at(-1)).to.deep.equal([work])
      expect(work).to.include({ attempts: 3, given: 3, outageRun: 0 })
      expect(r.failed).to.have.length(0)
    })

    it('with nothing else to send, one such record fails: it may be one the target refuses', () => {
      const r = rig()
      const work = attempt(r, REFUSED)
      r.guard.holdsForVerdict(work, REFUSED)
      r.guard.decideIdle()
      expect(r.failed).to.deep.equal([[work, REFUSED]])
      expect(r.guard.circuit).to.equal('closed')
    })

    it('with nothing else to send, two such records open the circuit', () => {
      const r = rig()
      const works = [attempt(r, REFUSED), attempt(r, REFUSED)]
      for (const work of works) r.guard.holdsForVerdict(work, REFUSED)
      r.guard.decideIdle()
      expect(r.failed).to.have.length(0)
      expect(r.guard.circuit).to.equal('open')
      expect(r.requeued.at(-1)).to.deep.equal(works)
      expect(works.map((work) => work.given)).to.deep.equal([1, 1])
    })

    describe('with nothing else to send, records whose last attempt timed out', () => {
      /** `slow` first attempts go out, the target answers `fast` others, then each slow one times out twice. */
      function slowRecords (r: Rig, slow: number, fast: Attempt[]): Work[] {
        const works = launched(r, slow)
        for (const result of fast) attempt(r, result)
        answer(r, works, TIMED_OUT)
        for (const work of works) attempt(r, TIMED_OUT, work)
        for (const work of works) expect(r.guard.holdsForVerdict(work, TIMED_OUT)).to.equal(true)
        return works
      }

      it('fail as they are when the target answered records launched after them meanwhile', () => {
        const r = rig()
        const works = slowRecords(r, 3, [OK, BAD_REQUEST])
        r.guard.decideIdle()
        expect(r.failed).to.deep.equal(works.map((work) => [work, TIMED_OUT]))
        expect(r.guard.circuit, 'the target is up: no probe with a record it is slow for').to.equal('closed')
        expect(r.guard.awaiting).to.equal(0)
      })

      /** None failed: the circuit opened and `works` went back to the queue to wait for it. */
      function expectWaitingForCircuit (r: Rig, works: Work[]): void {
        expect(r.failed).to.have.length(0)
        expect(r.guard.circuit).to.equal('open')
        expect(r.requeued.at(-1)).to.deep.equal(works)
      }

      it('open the circuit when nothing else was answered since', () => {
        const r = rig()
        const works = slowRecords(r, 2, [REFUSED])
        r.guard.decideIdle()
        expectWaitingForCircuit(r, works)
      })

      it('wait for the circuit when only records launched before them were answered: the target may have hung since', () => {
        const r = rig()
        const [answered, ...hung] = launched(r, 4) as [Work, ...Work[]]
        answer(r, [answered], OK)
        answer(r, hung, TIMED_OUT)
        for (const work of hung) attempt(r, TIMED_OUT, work)
        for (const work of hung) expect(r.guard.holdsForVerdict(work, TIMED_OUT)).to.equal(true)
        r.guard.decideIdle()
        expectWaitingForCircuit(r, hung)
      })

      it('fail alone while refused records keep waiting for the circuit', () => {
        const r = rig()
        const slow = slowRecords(r, 1, [OK])
        const refused = [attempt(r, REFUSED), attempt(r, REFUSED)]
        for (const work of refused) r.guard.holdsForVerdict(work, REFUSED)
        r.guard.decideIdle()
        expect(r.failed).to.deep.equal([[slow[0], TIMED_OUT]])
        expect(r.guard.circuit).to.equal('open')
        expect(r.requeued.at(-1)).to.deep.equal(refused)
      })
    })
  })

  describe('the circuit', () => {
    it('open: nothing starts; after FIRST_PROBE_MS one probe goes (half_open); its answer closes it', () => {
      const r = rig()
      openCircuit(r)
      expect(r.circuits).to.deep.equal(['open'])
      expect(r.guard.mayStart()).to.equal(false)
      r.advance(FIRST_PROBE_MS)
      expect(r.guard.mayStart()).to.equal(true)
      const probe = newWork({ index: 500, id: 'p', idJson: '"p"', payload: '{}' })
      r.guard.launching(probe)
      expect(r.guard.circuit).to.equal('half_open')
      expect(r.guard.mayStart(), 'one probe at a time').to.equal(false)
      probe.attempts++
      r.guard.settle(probe, OK, 0)
      expect(r.circuits).to.deep.equal(['open', 'half_open', 'closed'])
      expect(r.wakes.length).to.be.greaterThan(0)
      expect(r.guard.mayStart()).to.equal(true)
    })

    it('gives back the outage failures of a record that fails again after the opening', () => {
      const r = rig()
      const work = attempt(r, REFUSED)
      openCircuit(r)
      // The record's retry is the probe, and fails too.
      r.advance(FIRST_PROBE_MS)
      expect(r.guard.mayStart()).to.equal(true)
      attempt(r, REFUSED, work)
      expect(work).to.include({ attempts: 2, given: 2, outageRun: 0 })
      expect(r.guard.circuit).to.equal('open')
      expect(r.guard.mayStart(), 'the next probe waits twice as long').to.equal(false)
      r.advance(2 * FIRST_PROBE_MS)
      expect(r.guard.mayStart()).to.equal(true)
    })

    it('does not give back failures that were answers, nor outage failures after the circuit closed', () => {
      const r = rig()
      const work = attempt(r, BAD_REQUEST)
      attempt(r, REFUSED, work)
      openCircuit(r)
      r.advance(FIRST_PROBE_MS)
      r.guard.mayStart()
      attempt(r, OK)
      attempt(r, BAD_REQUEST, work)
      expect(work).to.include({ attempts: 3, given: 1 })
      attempt(r, REFUSED, work)
      expect(work).to.include({ attempts: 4, given: 1, outageRun: 1 })
    })

    it('withdraws a probe the rate gate held when a Retry-After hold takes it back', () => {
      const r = rig()
      openCircuit(r)
      r.advance(FIRST_PROBE_MS)
      r.guard.mayStart()
      const probe = newWork({ index: 501, id: 'p', idJson: '"p"', payload: '{}' })
      r.guard.launching(probe)
      r.rateHeld = [probe]
      // A straggler from before the opening answers 429 with Retry-After.
      attempt(r, { ...TOO_MANY, retryAfter: '1' })
      expect(r.guard.circuit).to.equal('open')
      expect(r.circuits).to.deep.equal(['open', 'half_open', 'open'])
      r.advance(1000)
      expect(r.guard.mayStart(), 'the probe may go again').to.equal(true)
    })

    it('open longer than maxOpenMs: the job is told to pause, once, and nothing more starts', () => {
      const r = rig({ maxOpenMs: 3000 })
      openCircuit(r)
      r.advance(3000)
      expect(r.guard.mayStart()).to.equal(false)
      r.advance(FIRST_PROBE_MS)
      expect(r.guard.mayStart()).to.equal(false)
      expect(r.stuck).to.deep.equal([4000])
    })

    it('ignores what stragglers from before the opening say, but gives their outage failures back', () => {
      const r = rig()
      const stragglers = launched(r, 50)
      openCircuit(r)
      answer(r, stragglers.slice(0, 25), OK)
      answer(r, stragglers.slice(25), REFUSED)
      expect(r.guard.circuit).to.equal('open')
      expect(stragglers.slice(25).every((work) => work.given === 1)).to.equal(true)
    })
  })

  describe('adaptive concurrency', () => {
    it(`starts at ${INITIAL_LIMIT}, grows on answers, cuts on 429, and not on a 400`, () => {
      const r = rig({ isAdaptive: true })
      expect(r.guard.limit.current).to.equal(INITIAL_LIMIT)
      for (let i = 0; i < 4; i++) attempt(r, BAD_REQUEST, undefined, r.guard.limit.current)
      expect(r.guard.limit.current).to.equal(2 * INITIAL_LIMIT)
      attempt(r, TOO_MANY, undefined, 8)
      expect(r.guard.limit.current).to.equal(5)
    })

    it('does not cut for outage failures once the circuit is open (the breaker handles those)', () => {
      const r = rig({ isAdaptive: true })
      for (let i = 0; i < 12; i++) attempt(r, OK, undefined, r.guard.limit.current)
      const before = r.guard.limit.current
      answer(r, launched(r, 30), REFUSED)
      expect(r.guard.circuit).to.equal('open')
      expect(r.guard.limit.current, 'one cut for the generation launched before it').to.equal(Math.floor(before * 0.7))
    })
  })
})
