/**
 * What a job's target allows it to start, judged from its answers (DESIGN §8): the sender
 * asks mayStart() before every start and reports every attempt's result to settle().
 *   - A 429 or 503 with Retry-After holds every start of the job until then (capped at 5 min).
 *   - The circuit breaker (delivery/circuit-breaker.ts): open, nothing starts but one probe
 *     at a time, when due; open longer than `maxOpenMs`, the job is told to pause.
 *   - Adaptive concurrency (delivery/adaptive-limit.ts): the job's in-flight cap is `limit.current`.
 * Attempts lost to an outage are given back: a record's outage-like failures in a row do
 * not count against max_attempts once the circuit has opened since the first of them was
 * launched (or is open now). A record whose attempts ran out on an outage-like failure with
 * the circuit closed waits for the verdict: the next answer that is not outage-like means
 * the target is up and its failure stands; the circuit opening gives its attempts back.
 * The fast path (closed, no hold) is one boolean; settle() is O(1) and allocates nothing
 * unless a record waits for a verdict.
 */
import type { Attempt } from '../delivery/send-record.js'
import { holdMs, isOutage, isOverload } from '../delivery/retry-policy.js'
import { CircuitBreaker, type CircuitState } from '../delivery/circuit-breaker.js'
import { AdaptiveLimit } from '../delivery/adaptive-limit.js'
import type { Work } from './work.js'

export const DEFAULT_MAX_OPEN_MS = 3_600_000

export interface TargetGuardOptions {
  /** The job's concurrency: its cap, or with `isAdaptive` the ceiling of its live limit. */
  readonly maxInFlight: number
  /** adaptive_concurrency. @defaultValue false */
  readonly isAdaptive?: boolean | undefined
  /** How long the circuit may stay open before the job pauses (CHRONOS_CIRCUIT_MAX_OPEN_MS). @defaultValue 1 hour */
  readonly maxOpenMs?: number | undefined
  /** The circuit changed state. */
  readonly onCircuit?: ((state: CircuitState) => void) | undefined
  /** The circuit has been open `maxOpenMs`: the job should pause. Called once. */
  readonly onCircuitStuck?: (() => void) | undefined
}

/** What the guard asks of its sender. */
export interface GuardHooks {
  /** Starts may be possible again: pump soon. */
  readonly wake: () => void
  /** Nothing queued may start now: takes back the starts held by the rate gate, and queues `first` ahead of everything. */
  readonly holdStarts: (first: Work[]) => Work[]
  /** A record waiting for a verdict: the target is up, its failure stands. */
  readonly fail: (work: Work, attempt: Attempt) => void
}

interface Verdict { readonly work: Work, readonly attempt: Attempt }

export class TargetGuard {
  readonly #options: TargetGuardOptions
  readonly #hooks: GuardHooks
  readonly #breaker = new CircuitBreaker()
  /** The in-flight cap SendSlots enforces: adaptive, or fixed at the job's concurrency. */
  readonly limit: { readonly current: number }
  readonly #adaptive: AdaptiveLimit | null
  readonly #maxOpenMs: number
  /** Closed and no hold: every start may go (the hot path reads only this). */
  #isClear = true
  #holdUntil = 0
  #probe: Work | null = null
  /** Attempts launched so far, and the latest launched of those answered (not outage-like). */
  #launches = 0
  #newestAnswered = 0
  #hasGivenUp = false
  #timer: NodeJS.Timeout | null = null
  #timerAt = Infinity
  readonly #verdicts: Verdict[] = []
  readonly #now: () => number

  /** `now` is the monotonic clock in ms (a parameter for the specs). */
  constructor (options: TargetGuardOptions, hooks: GuardHooks, now: () => number = () => performance.now()) {
    this.#options = options
    this.#hooks = hooks
    this.#now = now
    this.#adaptive = options.isAdaptive === true ? new AdaptiveLimit(options.maxInFlight) : null
    this.limit = this.#adaptive ?? { current: options.maxInFlight }
    this.#maxOpenMs = options.maxOpenMs ?? DEFAULT_MAX_OPEN_MS
  }

  get circuit (): CircuitState {
    return this.#breaker.state
  }

  /** Records whose last failure waits for the breaker's verdict. */
  get awaiting (): number {
    return this.#verdicts.length
  }

  /** Whether one more attempt may start now; if not, the sender is woken when one may. */
  mayStart (): boolean {
    if (this.#isClear) return true
    const now = this.#now()
    if (now < this.#holdUntil) return this.#sleepUntil(this.#holdUntil)
    const breaker = this.#breaker
    if (breaker.state === 'closed') {
      this.#isClear = true
      return true
    }
    if (this.#probe !== null || this.#hasGivenUp) return false
    const giveUpAt = breaker.openedAt + this.#maxOpenMs
    if (now >= giveUpAt) {
      this.#hasGivenUp = true
      this.#options.onCircuitStuck?.()
      return false
    }
    return now >= breaker.probeAt || this.#sleepUntil(Math.min(breaker.probeAt, giveUpAt))
  }

  /** `work` starts (now, or when the rate gate lets it): remembered for give-backs and cuts. */
  launching (work: Work): void {
    work.launchOpens = this.#breaker.opens
    work.launchCuts = this.#adaptive?.cuts ?? 0
    work.launchSeq = ++this.#launches
    if (this.#breaker.state !== 'open') return
    // mayStart() let it through with the circuit open: it is the probe.
    this.#probe = work
    this.#breaker.probing()
    this.#options.onCircuit?.('half_open')
  }

  /** An attempt of `work` ended (its `attempts` counted); `inFlight` are the job's attempts still out. */
  settle (work: Work, attempt: Attempt, inFlight: number): void {
    const isDown = isOutage(attempt)
    if (isDown) {
      if (work.outageRun++ === 0) work.outageEpoch = work.launchOpens
      // Outpaced: a record launched after this attempt was answered while it was out.
      work.isOutpaced = (work.outageRun > 1 && work.isOutpaced) || this.#newestAnswered > work.launchSeq
    } else if (work.launchSeq > this.#newestAnswered) this.#newestAnswered = work.launchSeq
    if (attempt.retryAfter !== undefined) this.#hold(holdMs(attempt))
    const breaker = this.#breaker
    if (work === this.#probe) this.#probed(isDown)
    else if (breaker.state === 'closed') {
      if (this.#adaptive !== null) {
        if (isOverload(attempt)) this.#adaptive.cut(work.launchCuts)
        else if (attempt.status !== null) this.#adaptive.grow(inFlight)
      }
      if (breaker.record(isDown, this.#now())) this.#opened()
      else if (!isDown && this.#verdicts.length > 0) this.#release()
    }
    if (work.outageRun > 0 && (breaker.state !== 'closed' || breaker.opens > work.outageEpoch)) giveBack(work)
    if (!isDown) work.outageRun = 0
  }

  /** `work` has no attempts left after `attempt`: true when it waits for the verdict instead of failing now. */
  holdsForVerdict (work: Work, attempt: Attempt): boolean {
    if (work.outageRun === 0) return false
    this.#verdicts.push({ work, attempt })
    return true
  }

  /**
   * Nothing else will be sent, so no later answer brings a verdict. A record whose last
   * attempt timed out and that was outpaced in its failing run (see settle) is slow for
   * itself: its failure stands (docs/delivery.md). Of the rest, two or more look like a down
   * target (the circuit opens, they wait for it); one alone may be one the target refuses.
   */
  decideIdle (): void {
    const waiting = this.#verdicts.splice(0).filter((verdict) => {
      if (!this.#isSlowAlone(verdict)) return true
      this.#hooks.fail(verdict.work, verdict.attempt)
      return false
    })
    this.#verdicts.push(...waiting)
    if (waiting.length < 2) return this.#release()
    this.#breaker.open(this.#now())
    this.#opened()
  }

  /** Stopping: records waiting for a verdict are dropped unsent, like waiting retries. */
  dropWaiting (): void {
    this.#verdicts.length = 0
  }

  close (): void {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    this.#verdicts.length = 0
  }

  #hold (ms: number): void {
    if (ms <= 0) return
    this.#holdUntil = Math.max(this.#holdUntil, this.#now() + ms)
    this.#isClear = false
    this.#takeBack([])
  }

  #opened (): void {
    this.#isClear = false
    const given = this.#verdicts.splice(0).map(({ work }) => {
      giveBack(work)
      return work
    })
    this.#options.onCircuit?.('open')
    this.#takeBack(given)
    this.mayStart()
  }

  #probed (isDown: boolean): void {
    this.#probe = null
    if (isDown) {
      this.#breaker.probeFailed(this.#now())
      this.#options.onCircuit?.('open')
      this.mayStart()
      return
    }
    this.#breaker.close()
    this.#options.onCircuit?.('closed')
    this.#hooks.wake()
  }

  /** Timed out, and outpaced by a record launched after it (see decideIdle). */
  #isSlowAlone ({ work, attempt }: Verdict): boolean {
    return attempt.error === 'timeout' && work.isOutpaced
  }

  /** Rate-held starts go back to the queue; the probe among them is withdrawn. */
  #takeBack (first: Work[]): void {
    const held = this.#hooks.holdStarts(first)
    if (this.#probe !== null && held.includes(this.#probe)) {
      this.#probe = null
      this.#breaker.probeWithdrawn()
      this.#options.onCircuit?.('open')
    }
  }

  /** The target is up: every record waiting for the verdict fails as its last attempt said. */
  #release (): void {
    for (const { work, attempt } of this.#verdicts.splice(0)) this.#hooks.fail(work, attempt)
  }

  /** Returns false, and wakes the sender at `atMs` (one timer, the earliest asked for). */
  #sleepUntil (atMs: number): boolean {
    if (this.#timer !== null && this.#timerAt <= atMs) return false
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timerAt = atMs
    this.#timer = setTimeout(() => {
      this.#timer = null
      this.#timerAt = Infinity
      this.#hooks.wake()
    }, Math.max(0, Math.ceil(atMs - this.#now())))
    return false
  }
}

/** The record's outage-like failures in a row stop counting against max_attempts. */
function giveBack (work: Work): void {
  work.given += work.outageRun
  work.outageRun = 0
}
