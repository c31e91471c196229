// createSender(): the unordered parallel dispatcher of DESIGN §6, driven by a counting record
// source and a collecting sink joined with pipeline(). `attempt` is the stage's injection point,
// so a plain async function with controllable delays stands in for HTTP here.
import { once } from 'node:events'
import { performance } from 'node:perf_hooks'
import { Readable, Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { setTimeout as sleep } from 'node:timers/promises'
import { expect } from 'chai'
import { createSender, type RetryDecision, type Sender, type SenderOptions } from '../../lib/pipeline/sender.js'
import { RateLimiter } from '../../lib/delivery/rate-limiter.js'
import type { Attempt, AttemptSender } from '../../lib/delivery/send-record.js'
import type { Outcome } from '../../lib/domain/outcome.js'
import type { JobRecord } from '../../lib/domain/record.js'
import { RecordBatch, type ParsedLine } from '../../lib/pipeline/record-batches.js'
import { InFlightBudget } from '../../lib/pipeline/in-flight-budget.js'

function record (index: number): JobRecord {
  return { index, id: `r${index}`, idJson: `"r${index}"`, payload: `{"n":${index}}` }
}

function records (count: number): JobRecord[] {
  return Array.from({ length: count }, (_, index) => record(index))
}

const OK: Attempt = { ok: true, status: 200, timeMs: 3, error: null }
const UNAVAILABLE: Attempt = { ok: false, status: 503, timeMs: 2, error: 'http_status', snippet: 'busy' }
/** Not outage-like: the circuit breaker takes it for a target that is up. */
const SERVER_ERROR: Attempt = { ok: false, status: 500, timeMs: 2, error: 'http_status', snippet: 'oops' }
const CANCELLED: Attempt = { ok: false, status: null, timeMs: 1, error: 'cancelled' }

/** No record is ever retried. */
const NEVER_RETRY: RetryDecision = () => null

/** Failed attempts are retried after `delayMs`, up to `maxAttempts` in all. */
function retryFailures (maxAttempts: number, delayMs: number): RetryDecision {
  return (attempt, attemptsMade) => attempt.ok || attemptsMade >= maxAttempts ? null : delayMs
}

interface Source {
  readonly stream: Readable
  /** How many items the pipeline has pulled out of the source. */
  readonly pulled: () => number
}

/** The spool line that parses back to `item` (an invalid item becomes a line that is not JSON). */
function lineOf (item: ParsedLine): string {
  return 'invalid' in item ? 'not json' : `{"id":${item.idJson},"payload":${item.payload}}`
}

/**
 * An objectMode source with highWaterMark 1 that counts every item read from it. Each item
 * is a RecordBatch of its own, so "records pulled" is exact.
 */
function countingSource (items: readonly ParsedLine[]): Source {
  let next = 0
  const stream = new Readable({
    objectMode: true,
    highWaterMark: 1,
    read () {
      const item = items[next++]
      this.push(item === undefined ? null : new RecordBatch(item.index, [lineOf(item)]))
    }
  })
  return { stream, pulled: () => Math.min(next, items.length) }
}

interface Sink {
  readonly stream: Writable
  readonly outcomes: Outcome[]
}

/** Collects outcomes (the sender pushes them in arrays); `onOutcome` runs after each one is stored. */
function collectingSink (onOutcome: (outcomes: Outcome[]) => void = () => {}): Sink {
  const outcomes: Outcome[] = []
  const stream = new Writable({
    objectMode: true,
    highWaterMark: 1,
    write (batch: Outcome[], _encoding, callback) {
      for (const outcome of batch) {
        outcomes.push(outcome)
        onOutcome(outcomes)
      }
      callback()
    }
  })
  return { stream, outcomes }
}

/** Collects outcomes but holds every write until `opened` resolves: a sink stuck on Redis. */
function stuckSink (opened: Promise<void>): Sink {
  const outcomes: Outcome[] = []
  const stream = new Writable({
    objectMode: true,
    highWaterMark: 1,
    write (batch: Outcome[], _encoding, callback) {
      outcomes.push(...batch)
      opened.then(() => callback(), callback)
    }
  })
  return { stream, outcomes }
}

interface Gate {
  readonly promise: Promise<void>
  open: () => void
}

function gate (): Gate {
  let open = (): void => {}
  const promise = new Promise<void>((resolve) => { open = resolve })
  return { promise, open }
}

/** Resolves once `condition` holds, polling; fails the test after `timeoutMs`. */
async function until (condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`)
    await sleep(5)
  }
}

interface Probe {
  readonly attempt: AttemptSender
  /** Record indexes in the order their attempts started. */
  readonly started: number[]
  /** performance.now() of every attempt start. */
  readonly startedAt: number[]
  readonly signals: AbortSignal[]
  readonly inFlight: () => number
  readonly maxInFlight: () => number
}

/** Wraps an attempt body with start, concurrency and signal tracking. */
function probe (body: (record: JobRecord, signal: AbortSignal, attemptNumber: number) => Promise<Attempt>): Probe {
  const started: number[] = []
  const startedAt: number[] = []
  const signals: AbortSignal[] = []
  const attemptsPerRecord = new Map<number, number>()
  let inFlight = 0
  let maxInFlight = 0
  const attempt: AttemptSender = (rec, signal, done) => {
    started.push(rec.index)
    startedAt.push(performance.now())
    signals.push(signal)
    const attemptNumber = (attemptsPerRecord.get(rec.index) ?? 0) + 1
    attemptsPerRecord.set(rec.index, attemptNumber)
    inFlight++
    maxInFlight = Math.max(maxInFlight, inFlight)
    // A rejected body stands for a bug in the attempt: it reaches the sender as an Error.
    body(rec, signal, attemptNumber).then((result) => {
      inFlight--
      done(result)
    }, (err: unknown) => {
      inFlight--
      done(err as Error)
    })
  }
  return { attempt, started, startedAt, signals, inFlight: () => inFlight, maxInFlight: () => maxInFlight }
}

function sender (attempt: AttemptSender, options: Partial<SenderOptions> = {}): Sender {
  return createSender({ maxInFlight: 4, attempt, retryDelayMs: NEVER_RETRY, ...options })
}

function indexes (outcomes: readonly Outcome[]): number[] {
  return outcomes.map((outcome) => outcome.index)
}

describe('createSender()', () => {
  // Pipelines a test leaves running are torn down here, so a failed test leaks no timers.
  let controllers: AbortController[] = []

  function run (...streams: [Readable, Sender, Writable]): Promise<void> {
    const controller = new AbortController()
    controllers.push(controller)
    return pipeline(...streams, { signal: controller.signal })
  }

  afterEach(() => {
    for (const controller of controllers) controller.abort()
    controllers = []
  })

  it('takes records from a large batch only as slots free, and pushes outcomes in arrays', async () => {
    const attempts = probe(async () => {
      await sleep(1)
      return OK
    })
    const lines = records(50).map(lineOf)
    const source = Readable.from([new RecordBatch(0, lines.slice(0, 30)), new RecordBatch(30, lines.slice(30))])
    const pushes: number[] = []
    const sink = new Writable({
      objectMode: true,
      write (batch: Outcome[], _encoding, callback) {
        pushes.push(batch.length)
        callback()
      }
    })
    await run(source, sender(attempts.attempt, { maxInFlight: 4 }), sink)
    expect(attempts.maxInFlight()).to.equal(4)
    expect(attempts.started.sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 50 }, (_, i) => i))
    expect(pushes.reduce((a, b) => a + b, 0)).to.equal(50)
    expect(pushes.length, 'outcomes finished in one turn of the event loop travel together').to.be.below(50)
  })

  it('turns every record into one outcome carrying its index, id and last attempt', async () => {
    const attempts = probe(async () => OK)
    const source = countingSource(records(10))
    const sink = collectingSink()
    await run(source.stream, sender(attempts.attempt), sink.stream)
    expect(indexes(sink.outcomes).sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    expect(sink.outcomes.find((outcome) => outcome.index === 3)).to.deep.equal({
      index: 3, idJson: '"r3"', ok: true, status: 200, attempts: 1, timeMs: 3, error: null
    })
  })

  it('keeps the snippet of a failed attempt on its outcome', async () => {
    const attempts = probe(async () => UNAVAILABLE)
    const sink = collectingSink()
    await run(countingSource(records(1)).stream, sender(attempts.attempt), sink.stream)
    expect(sink.outcomes).to.deep.equal([
      { index: 0, idJson: '"r0"', ok: false, status: 503, attempts: 1, timeMs: 2, error: 'http_status', snippet: 'busy' }
    ])
  })

  it('never runs more than maxInFlight attempts at once', async () => {
    const attempts = probe(async (rec) => {
      await sleep(1 + (rec.index * 7) % 11)
      return OK
    })
    const sink = collectingSink()
    await run(countingSource(records(60)).stream, sender(attempts.attempt, { maxInFlight: 4 }), sink.stream)
    expect(attempts.maxInFlight()).to.equal(4)
    expect(sink.outcomes).to.have.length(60)
    expect(new Set(indexes(sink.outcomes)).size).to.equal(60)
  })

  it('runs records one at a time with maxInFlight 1', async () => {
    const attempts = probe(async () => {
      await sleep(1)
      return OK
    })
    const sink = collectingSink()
    await run(countingSource(records(8)).stream, sender(attempts.attempt, { maxInFlight: 1 }), sink.stream)
    expect(attempts.maxInFlight()).to.equal(1)
    expect(indexes(sink.outcomes)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7])
  })

  it('pushes outcomes in completion order, so a slow first record does not hold back later ones', async () => {
    const slow = gate()
    const attempts = probe(async (rec) => {
      if (rec.index === 0) await slow.promise
      return OK
    })
    // The first record only finishes once every other outcome has reached the sink.
    const sink = collectingSink((outcomes) => { if (outcomes.length === 5) slow.open() })
    await run(countingSource(records(6)).stream, sender(attempts.attempt, { maxInFlight: 4 }), sink.stream)
    expect(indexes(sink.outcomes).slice(0, 5).sort()).to.deep.equal([1, 2, 3, 4, 5])
    expect(sink.outcomes[5]?.index).to.equal(0)
  })

  describe('backpressure', () => {
    it('pulls a bounded number of records while the sink is stuck, and all of them once it moves', async () => {
      const attempts = probe(async () => {
        await new Promise((resolve) => setImmediate(resolve))
        return OK
      })
      const source = countingSource(records(2000))
      const stuck = gate()
      const sink = stuckSink(stuck.promise)
      const done = run(source.stream, sender(attempts.attempt, { maxInFlight: 4 }), sink.stream)
      // Let the pipeline fill every buffer it has, then check the read stayed bounded.
      let previous = -1
      while (previous !== source.pulled()) {
        previous = source.pulled()
        await sleep(50)
      }
      // The sender's readable buffer (4 arrays of at most 4 outcomes) + in-flight (4) + a few
      // stream buffers of 1.
      const bound = 64
      expect(source.pulled(), 'records pulled while the sink is stuck').to.be.at.most(bound)
      expect(attempts.started.length).to.be.at.most(bound)
      stuck.open()
      await done
      expect(source.pulled()).to.equal(2000)
      expect(sink.outcomes).to.have.length(2000)
    })

    it('stops starting records of a large batch while the sink is stuck, and starts the rest once it moves', async () => {
      const attempts = probe(async () => {
        await new Promise((resolve) => setImmediate(resolve))
        return OK
      })
      const lines = records(2000).map(lineOf)
      const source = Readable.from([new RecordBatch(0, lines)])
      const stuck = gate()
      const sink = stuckSink(stuck.promise)
      const done = run(source, sender(attempts.attempt, { maxInFlight: 4 }), sink.stream)
      await sleep(200)
      // One batch holds every record: only the readable side's fill can stop intake here.
      expect(attempts.started.length, 'records started while the sink is stuck').to.be.at.most(64)
      stuck.open()
      await done
      expect(sink.outcomes).to.have.length(2000)
      expect(attempts.started).to.have.length(2000)
    })

    it('pulls a bounded number of records ahead of a slow sink', async () => {
      const attempts = probe(async () => OK)
      const source = countingSource(records(300))
      let maxAhead = 0
      const outcomes: Outcome[] = []
      const sink = new Writable({
        objectMode: true,
        highWaterMark: 1,
        write (batch: Outcome[], _encoding, callback) {
          outcomes.push(...batch)
          maxAhead = Math.max(maxAhead, source.pulled() - outcomes.length)
          setTimeout(callback, 1)
        }
      })
      await run(source.stream, sender(attempts.attempt, { maxInFlight: 4 }), sink)
      expect(outcomes).to.have.length(300)
      expect(maxAhead, 'records pulled but not yet stored').to.be.at.most(64)
    })

    it('pulls a bounded number of records while every slot is busy', async () => {
      const busy = gate()
      const attempts = probe(async () => {
        await busy.promise
        return OK
      })
      const source = countingSource(records(500))
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 3 })
      const done = run(source.stream, stage, sink.stream)
      await until(() => attempts.started.length === 3, 'three attempts started')
      await sleep(50)
      expect(attempts.started).to.have.length(3)
      // In flight, plus the sender's writable buffer, plus what the source holds.
      expect(source.pulled()).to.be.at.most(3 + stage.writableHighWaterMark + 3)
      busy.open()
      await done
      expect(sink.outcomes).to.have.length(500)
    })
  })

  it('tears the whole pipeline down when attempt reports an Error (a bug of the attempt machinery)', async () => {
    const bug = new Error('attempt broke its contract')
    const attempts = probe(async (rec) => {
      if (rec.index === 3) throw bug
      await sleep(5)
      return OK
    })
    const source = countingSource(records(1000))
    const sink = collectingSink()
    const stage = sender(attempts.attempt, { maxInFlight: 2 })
    await expect(run(source.stream, stage, sink.stream)).to.be.rejectedWith(bug)
    expect(source.stream.destroyed, 'source destroyed').to.equal(true)
    expect(stage.destroyed, 'sender destroyed').to.equal(true)
    expect(sink.stream.destroyed, 'sink destroyed').to.equal(true)
    expect(source.pulled()).to.be.below(1000)
  })

  describe('when one record throws (issue 18 items 1-2)', () => {
    it('turns a throw from the attempt call into that record\'s invalid_record outcome and goes on', async () => {
      const attempts = probe(async () => {
        await sleep(1)
        return OK
      })
      const attempt: AttemptSender = (rec, signal, done) => {
        if (rec.index === 3) throw new URIError('URI malformed')
        attempts.attempt(rec, signal, done)
      }
      const sink = collectingSink()
      const stage = sender(attempt, { maxInFlight: 2 })
      await run(countingSource(records(10)).stream, stage, sink.stream)
      expect(sink.outcomes).to.have.length(10)
      expect(indexes(sink.outcomes).sort((a, b) => a - b)).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
      expect(sink.outcomes.filter((outcome) => outcome.ok)).to.have.length(9)
      expect(sink.outcomes.find((outcome) => outcome.index === 3)).to.deep.equal({
        index: 3, idJson: '"r3"', ok: false, status: null, attempts: 0, timeMs: 0, error: 'invalid_record'
      })
      expect(stage.inFlight, 'the slot was given back').to.equal(0)
      expect(stage.readableEnded, 'the stream ended normally').to.equal(true)
    })

    it('counts the attempts made before a retry\'s attempt call throws', async () => {
      const attempts = probe(async () => UNAVAILABLE)
      let calls = 0
      const attempt: AttemptSender = (rec, signal, done) => {
        if (++calls === 3) throw new RangeError('Maximum call stack size exceeded')
        attempts.attempt(rec, signal, done)
      }
      const sink = collectingSink()
      await run(countingSource([record(0)]).stream, sender(attempt, { retryDelayMs: retryFailures(5, 1) }), sink.stream)
      expect(sink.outcomes).to.deep.equal([
        { index: 0, idJson: '"r0"', ok: false, status: null, attempts: 2, timeMs: 0, error: 'invalid_record' }
      ])
    })

    it('ignores a callback from an attempt that threw after it had started', async () => {
      const attempts = probe(async () => {
        await sleep(5)
        return OK
      })
      const attempt: AttemptSender = (rec, signal, done) => {
        attempts.attempt(rec, signal, done)
        if (rec.index === 1) throw new Error('threw after starting')
      }
      const sink = collectingSink()
      const stage = sender(attempt, { maxInFlight: 2 })
      await run(countingSource(records(4)).stream, stage, sink.stream)
      await sleep(20)
      expect(sink.outcomes).to.have.length(4)
      expect(sink.outcomes.find((outcome) => outcome.index === 1)).to.include({ ok: false, error: 'invalid_record' })
      expect(stage.inFlight).to.equal(0)
    })

    it('survives a long run of records that all throw (no recursion through the pump)', async () => {
      const sink = collectingSink()
      const attempt: AttemptSender = () => { throw new Error('poison') }
      const lines = records(10_000).map(lineOf)
      await run(Readable.from([new RecordBatch(0, lines)]), sender(attempt, { maxInFlight: 4 }), sink.stream)
      expect(sink.outcomes).to.have.length(10_000)
      expect(sink.outcomes.every((outcome) => outcome.error === 'invalid_record')).to.equal(true)
    })

    it('turns a throw while deciding a record\'s retry into that record\'s invalid_record outcome', async () => {
      // Until issue 18 this tore the whole pipeline down; the throw belongs to one record.
      const poison: Attempt = { ok: false, status: 418, timeMs: 1, error: 'http_status' }
      const attempt: AttemptSender = (rec, _signal, done) => { setImmediate(done, rec.index === 5 ? poison : OK) }
      const sink = collectingSink()
      const stage = sender(attempt, {
        maxInFlight: 2,
        retryDelayMs: (result) => {
          if (result === poison) throw new Error('retry decision broke')
          return null
        }
      })
      await run(countingSource(records(10)).stream, stage, sink.stream)
      expect(sink.outcomes).to.have.length(10)
      expect(sink.outcomes.find((outcome) => outcome.index === 5)).to.deep.equal({
        index: 5, idJson: '"r5"', ok: false, status: null, attempts: 1, timeMs: 0, error: 'invalid_record'
      })
      expect(sink.outcomes.filter((outcome) => outcome.ok)).to.have.length(9)
    })
  })

  describe('retries', () => {
    it('retries a failed record until it succeeds and counts its attempts', async () => {
      // Record i fails (i % 3) times, then succeeds.
      const attempts = probe(async (rec, _signal, attemptNumber) => attemptNumber <= rec.index % 3 ? UNAVAILABLE : OK)
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 2, retryDelayMs: retryFailures(5, 2) })
      await run(countingSource(records(9)).stream, stage, sink.stream)
      expect(sink.outcomes).to.have.length(9)
      for (const outcome of sink.outcomes) {
        expect(outcome, `record ${outcome.index}`).to.include({ ok: true, status: 200, attempts: outcome.index % 3 + 1 })
      }
      expect(attempts.started).to.have.length(9 + 3 * (0 + 1 + 2))
    })

    it('gives up after the last attempt allowed and keeps the last failure', async () => {
      const attempts = probe(async () => SERVER_ERROR)
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 2, retryDelayMs: retryFailures(3, 1) })
      await run(countingSource(records(2)).stream, stage, sink.stream)
      expect(sink.outcomes).to.have.length(2)
      for (const outcome of sink.outcomes) {
        expect(outcome).to.include({ ok: false, status: 500, attempts: 3, error: 'http_status', snippet: 'oops' })
      }
      expect(attempts.started).to.have.length(6)
    })

    it('passes the last attempt and the attempts made so far to retryDelayMs', async () => {
      const calls: Array<[number | null, number]> = []
      const attempts = probe(async (_rec, _signal, attemptNumber) => attemptNumber < 3 ? UNAVAILABLE : OK)
      const retryDelayMs: RetryDecision = (attempt, attemptsMade) => {
        calls.push([attempt.status, attemptsMade])
        return attempt.ok ? null : 1
      }
      await run(countingSource(records(1)).stream, sender(attempts.attempt, { retryDelayMs }), collectingSink().stream)
      expect(calls).to.deep.equal([[503, 1], [503, 2], [200, 3]])
    })

    it('lets the next record run while a record waits for its retry (a backoff holds no slot)', async () => {
      const attempts = probe(async (rec, _signal, attemptNumber) => rec.index === 0 && attemptNumber === 1 ? UNAVAILABLE : OK)
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 1, retryDelayMs: retryFailures(3, 200) })
      await run(countingSource(records(3)).stream, stage, sink.stream)
      expect(attempts.maxInFlight()).to.equal(1)
      // Record 0's retry is due only after 200 ms; records 1 and 2 go first.
      expect(attempts.started).to.deep.equal([0, 1, 2, 0])
      expect(indexes(sink.outcomes)).to.deep.equal([1, 2, 0])
      expect(sink.outcomes[2]).to.include({ ok: true, attempts: 2 })
    })

    it('runs a retry that came due ahead of records not started yet', async () => {
      const release = gate()
      const attempts = probe(async (rec, _signal, attemptNumber) => {
        if (rec.index === 0 && attemptNumber === 1) return UNAVAILABLE
        if (rec.index === 1) await release.promise
        return OK
      })
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 1, retryDelayMs: retryFailures(3, 1) })
      const done = run(countingSource(records(4)).stream, stage, sink.stream)
      // Record 1 holds the only slot until record 0's retry is certainly due.
      await until(() => attempts.started.length === 2, 'record 1 started')
      await sleep(30)
      release.open()
      await done
      expect(attempts.started).to.deep.equal([0, 1, 0, 2, 3])
    })

    it('stops intake while maxWaiting records wait for a retry', async () => {
      const attempts = probe(async (rec, _signal, attemptNumber) => rec.index < 2 && attemptNumber === 1 ? UNAVAILABLE : OK)
      const source = countingSource(records(10))
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 2, maxWaiting: 2, retryDelayMs: retryFailures(2, 150) })
      const done = run(source.stream, stage, sink.stream)
      await until(() => stage.waiting === 2, 'two records wait for a retry')
      const startedThen = attempts.started.length
      const pulledThen = source.pulled()
      await sleep(50)
      expect(stage.waiting).to.equal(2)
      expect(attempts.started, 'nothing new starts while the waiting room is full').to.have.length(startedThen)
      expect(source.pulled()).to.equal(pulledThen)
      await done
      expect(sink.outcomes).to.have.length(10)
    })
  })

  describe('stopIntake()', () => {
    it('finishes in-flight attempts, pushes their outcomes, ends the stream and starts nothing new', async () => {
      const release = gate()
      const attempts = probe(async () => {
        await release.promise
        return OK
      })
      const source = countingSource(records(20))
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 3 })
      run(source.stream, stage, sink.stream).catch(() => {})
      await until(() => attempts.started.length === 3, 'three attempts started')
      stage.stopIntake()
      const finished = once(sink.stream, 'finish')
      release.open()
      await finished
      expect(indexes(sink.outcomes).sort()).to.deep.equal([0, 1, 2])
      await sleep(30)
      expect(attempts.started).to.deep.equal([0, 1, 2])
      expect(stage.readableEnded, 'the readable side ended').to.equal(true)
    })

    it('ends the stream at once when nothing is in flight', async () => {
      const attempts = probe(async () => OK)
      const source = countingSource(records(5))
      const sink = collectingSink()
      const stage = sender(attempts.attempt)
      stage.pauseSending()
      run(source.stream, stage, sink.stream).catch(() => {})
      await until(() => source.pulled() > 0, 'the source is read')
      const finished = once(sink.stream, 'finish')
      stage.stopIntake()
      await finished
      expect(sink.outcomes).to.deep.equal([])
      expect(attempts.started).to.deep.equal([])
    })

    it('drops records waiting for a retry: no outcome, no further attempt', async () => {
      const attempts = probe(async (rec) => rec.index === 0 ? UNAVAILABLE : OK)
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 2, retryDelayMs: retryFailures(3, 50) })
      run(countingSource([record(0)]).stream, stage, sink.stream).catch(() => {})
      await until(() => stage.waiting === 1, 'record 0 waits for its retry')
      const finished = once(sink.stream, 'finish')
      stage.stopIntake()
      await finished
      await sleep(100)
      expect(sink.outcomes).to.deep.equal([])
      expect(attempts.started).to.deep.equal([0])
    })
  })

  describe('abortInFlight()', () => {
    it('makes in-flight attempts see an aborted signal', async () => {
      const attempts = probe(async (_rec, signal) => {
        if (!signal.aborted) await once(signal, 'abort')
        return CANCELLED
      })
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 2 })
      const done = run(countingSource(records(2)).stream, stage, sink.stream)
      await until(() => attempts.started.length === 2, 'two attempts started')
      expect(attempts.signals.map((signal) => signal.aborted)).to.deep.equal([false, false])
      stage.abortInFlight()
      await done
      expect(attempts.signals.map((signal) => signal.aborted)).to.deep.equal([true, true])
      expect(sink.outcomes.map((outcome) => outcome.error)).to.deep.equal(['cancelled', 'cancelled'])
    })

    it('with stopIntake() winds a busy sender down to cancelled outcomes only', async () => {
      const attempts = probe(async (_rec, signal) => {
        if (!signal.aborted) await once(signal, 'abort')
        return CANCELLED
      })
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 3 })
      run(countingSource(records(100)).stream, stage, sink.stream).catch(() => {})
      await until(() => attempts.started.length === 3, 'three attempts started')
      const finished = once(sink.stream, 'finish')
      stage.stopIntake()
      stage.abortInFlight()
      await finished
      expect(indexes(sink.outcomes).sort()).to.deep.equal([0, 1, 2])
      expect(sink.outcomes.every((outcome) => outcome.error === 'cancelled')).to.equal(true)
      expect(attempts.started).to.have.length(3)
    })
  })

  describe('pauseSending() and resumeSending()', () => {
    it('starts nothing while paused and everything once resumed', async () => {
      const attempts = probe(async () => OK)
      const source = countingSource(records(100))
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 2 })
      stage.pauseSending()
      const done = run(source.stream, stage, sink.stream)
      await sleep(50)
      expect(attempts.started).to.deep.equal([])
      expect(source.pulled(), 'intake stays bounded while paused').to.be.at.most(2 + stage.writableHighWaterMark + 3)
      stage.resumeSending()
      await done
      expect(sink.outcomes).to.have.length(100)
    })

    it('lets in-flight attempts finish when paused, and starts no new one until resumed', async () => {
      const release = gate()
      const attempts = probe(async () => {
        await release.promise
        return OK
      })
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 2 })
      const done = run(countingSource(records(6)).stream, stage, sink.stream)
      await until(() => attempts.started.length === 2, 'two attempts started')
      stage.pauseSending()
      release.open()
      await until(() => sink.outcomes.length === 2, 'the in-flight outcomes arrived')
      await sleep(30)
      expect(attempts.started).to.have.length(2)
      expect(stage.inFlight).to.equal(0)
      stage.resumeSending()
      await done
      expect(sink.outcomes).to.have.length(6)
    })

    it('holds a retry that comes due while paused until resumed', async () => {
      const attempts = probe(async (_rec, _signal, attemptNumber) => attemptNumber === 1 ? UNAVAILABLE : OK)
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { retryDelayMs: retryFailures(2, 5) })
      const done = run(countingSource(records(1)).stream, stage, sink.stream)
      await until(() => stage.waiting === 1, 'the record waits for its retry')
      stage.pauseSending()
      await sleep(40)
      expect(attempts.started).to.deep.equal([0])
      stage.resumeSending()
      await done
      expect(sink.outcomes[0]).to.include({ ok: true, attempts: 2 })
    })
  })

  it('turns an invalid line into an invalid_record outcome without an attempt', async () => {
    const attempts = probe(async () => OK)
    const sink = collectingSink()
    const lines: ParsedLine[] = [record(0), { index: 1, invalid: 'not_json' }, record(2)]
    await run(countingSource(lines).stream, sender(attempts.attempt), sink.stream)
    expect(attempts.started.sort()).to.deep.equal([0, 2])
    expect(sink.outcomes.find((outcome) => outcome.index === 1)).to.deep.equal({
      index: 1, idJson: 'null', ok: false, status: null, attempts: 0, timeMs: 0, error: 'invalid_record'
    })
    expect(sink.outcomes).to.have.length(3)
  })

  describe('with a RateLimiter', () => {
    it('starts at most perSecond attempts in any one-second window, retries included', async function () {
      this.timeout(15_000)
      const perSecond = 5
      // Records 0 and 1 fail once, so two retries share the budget.
      const attempts = probe(async (rec, _signal, attemptNumber) => rec.index < 2 && attemptNumber === 1 ? UNAVAILABLE : OK)
      const sink = collectingSink()
      const stage = sender(attempts.attempt, {
        maxInFlight: 4, rateLimiter: new RateLimiter(perSecond), retryDelayMs: retryFailures(2, 1)
      })
      await run(countingSource(records(10)).stream, stage, sink.stream)
      expect(sink.outcomes).to.have.length(10)
      const starts = attempts.startedAt
      expect(starts).to.have.length(12)
      // Any perSecond + 1 consecutive starts span at least a second (a few ms of timer slack).
      for (let i = 0; i + perSecond < starts.length; i++) {
        const span = (starts[i + perSecond] as number) - (starts[i] as number)
        expect(span, `starts ${i}..${i + perSecond}`).to.be.at.least(990)
      }
    })

    // Issue 18 item 5: starts the limiter holds had already taken a slot, and still started
    // after a pause or a cancel.
    it('starts nothing after pauseSending(), not even what the limiter holds; resumes it through the limiter', async function () {
      this.timeout(10_000)
      const attempts = probe(async () => OK)
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 4, rateLimiter: new RateLimiter(2) })
      const done = run(countingSource(records(6)).stream, stage, sink.stream)
      await until(() => sink.outcomes.length === 2, 'the first two are sent')
      expect(stage.inFlight, 'four starts held by the limiter').to.equal(4)
      stage.pauseSending()
      expect(stage.inFlight, 'held starts gave their slots back').to.equal(0)
      await sleep(1500)
      expect(attempts.started).to.deep.equal([0, 1])
      stage.resumeSending()
      await done
      expect(indexes(sink.outcomes)).to.deep.equal([0, 1, 2, 3, 4, 5])
      expect(attempts.started).to.deep.equal([0, 1, 2, 3, 4, 5])
      const starts = attempts.startedAt
      for (let i = 0; i + 2 < starts.length; i++) {
        expect((starts[i + 2] as number) - (starts[i] as number), `starts ${i}..${i + 2}`).to.be.at.least(990)
      }
    })

    it('with stopIntake() and abortInFlight() drops what the limiter holds: no attempt, no outcome', async function () {
      this.timeout(10_000)
      const attempts = probe(async (_rec, signal) => {
        if (!signal.aborted) await once(signal, 'abort')
        return CANCELLED
      })
      const sink = collectingSink()
      const stage = sender(attempts.attempt, { maxInFlight: 4, rateLimiter: new RateLimiter(2) })
      run(countingSource(records(10)).stream, stage, sink.stream).catch(() => {})
      await until(() => attempts.started.length === 2 && stage.inFlight === 4, 'two in flight, two held')
      const finished = once(sink.stream, 'finish')
      stage.stopIntake()
      stage.abortInFlight()
      await finished
      await sleep(1200)
      expect(attempts.started).to.deep.equal([0, 1])
      expect(indexes(sink.outcomes).sort()).to.deep.equal([0, 1])
      expect(sink.outcomes.every((outcome) => outcome.error === 'cancelled')).to.equal(true)
    })
  })

  describe('sharing an InFlightBudget', () => {
    it('gives a small sender its share of a budget a big one fills, within the budget and its own maxInFlight', async () => {
      const budget = new InFlightBudget(8)
      let mostOfBudget = 0
      const body = async (): Promise<Attempt> => {
        mostOfBudget = Math.max(mostOfBudget, budget.inFlight)
        await sleep(2)
        return OK
      }
      const big = probe(body)
      const small = probe(body)
      const bigDone = run(countingSource(records(2000)).stream, sender(big.attempt, { maxInFlight: 8, budget, owner: 'k1' }), collectingSink().stream)
      await until(() => budget.inFlight === 8, 'the big sender fills the budget')
      const sink = collectingSink()
      await run(countingSource(records(30)).stream, sender(small.attempt, { maxInFlight: 3, budget, owner: 'k2' }), sink.stream)
      expect(sink.outcomes).to.have.length(30)
      expect(small.maxInFlight()).to.equal(3)
      expect(big.started.length, 'the big sender still runs').to.be.below(2000)
      await bigDone
      expect(mostOfBudget).to.equal(8)
      expect([budget.inFlight, budget.jobs], 'every slot back, both senders gone').to.deep.equal([0, 0])
    })

    it('gives back the slots of retries, a record that throws, rate-held starts and a pause', async () => {
      const budget = new InFlightBudget(4)
      const attempts = probe(async (rec, _signal, attemptNumber) => rec.index % 3 === 0 && attemptNumber === 1 ? UNAVAILABLE : OK)
      const attempt: AttemptSender = (rec, signal, done) => {
        if (rec.index === 5) throw new URIError('URI malformed')
        attempts.attempt(rec, signal, done)
      }
      const sink = collectingSink()
      const stage = sender(attempt, { maxInFlight: 4, budget, retryDelayMs: retryFailures(2, 1), rateLimiter: new RateLimiter(200) })
      const done = run(countingSource(records(20)).stream, stage, sink.stream)
      await until(() => sink.outcomes.length >= 5, 'five outcomes')
      stage.pauseSending()
      expect(budget.inFlight, 'held starts gave their budget slots back').to.equal(stage.inFlight)
      await sleep(20)
      stage.resumeSending()
      await done
      expect(sink.outcomes).to.have.length(20)
      expect([budget.inFlight, budget.jobs]).to.deep.equal([0, 0])
    })

    it('leaves the budget when torn down mid-run', async () => {
      const budget = new InFlightBudget(4)
      const attempts = probe(async (_rec, signal) => {
        if (!signal.aborted) await once(signal, 'abort')
        return CANCELLED
      })
      const controller = new AbortController()
      const done = pipeline(countingSource(records(10)).stream, sender(attempts.attempt, { budget }), collectingSink().stream, { signal: controller.signal })
      await until(() => budget.inFlight === 4, 'four in flight')
      controller.abort()
      await done.catch(() => {})
      expect([budget.inFlight, budget.jobs]).to.deep.equal([0, 0])
    })
  })
})
