/**
 * The sender's request slots, and everything that decides whether one more request may
 * start: what the target allows (the TargetGuard: Retry-After hold, circuit breaker, the
 * job's live limit under adaptive concurrency), the job's own cap (its concurrency), the
 * instance's InFlightBudget (its fair share, when a budget is given) and the job's RateGate
 * (a start held by the rate limit keeps its slot). take() counts a slot on both the job and
 * the budget; release() gives it back once the attempt settles (or when it never started).
 */
import type { Attempt } from '../delivery/send-record.js'
import type { RateLimiter } from '../delivery/rate-limiter.js'
import type { InFlightBudget, JobShare } from './in-flight-budget.js'
import { RateGate } from './rate-gate.js'
import { TargetGuard, type TargetGuardOptions } from './target-guard.js'
import type { Work } from './work.js'

export interface SendSlotsOptions extends TargetGuardOptions {
  readonly rateLimiter?: RateLimiter | undefined
  /** The instance's in-flight budget, shared with its other running jobs. @defaultValue none: only maxInFlight bounds the job */
  readonly budget?: InFlightBudget | undefined
  /** The API key fingerprint the job's share of the budget counts under ('' when the API is open). @defaultValue '' */
  readonly owner?: string | undefined
}

/** What the slots ask of the sender. */
export interface SlotHooks {
  /** Begins an attempt. */
  readonly start: (work: Work) => void
  /** Starts may be possible again (the budget has a slot, a hold ended, a probe is due): pump soon, deferred. */
  readonly wake: () => void
  /** Queues works ahead of everything else (starts taken back, records given back after an outage). */
  readonly requeue: (works: Work[]) => void
  /** A record that waited for the breaker's verdict fails as its last attempt said. */
  readonly fail: (work: Work, attempt: Attempt) => void
}

export class SendSlots {
  /** What the target allows; the sender reports every attempt's result to it. */
  readonly guard: TargetGuard
  readonly #limit: { readonly current: number }
  readonly #hooks: SlotHooks
  /** Spaces starts when the job has a rate limit; a held start keeps its slot. */
  readonly #rateGate: RateGate<Work> | null
  /** This job's part of the instance's in-flight budget; null without a budget. */
  readonly #share: JobShare | null
  #inFlight = 0
  /** The budget said no during this turn: the job waits to be woken. */
  #wasRefused = false

  constructor (options: SendSlotsOptions, hooks: SlotHooks) {
    this.#hooks = hooks
    this.guard = new TargetGuard(options, {
      wake: hooks.wake,
      holdStarts: (first) => this.requeueRateHeld(first),
      fail: hooks.fail
    })
    this.#limit = this.guard.limit
    this.#rateGate = options.rateLimiter === undefined ? null : new RateGate(options.rateLimiter, hooks.start)
    this.#share = options.budget?.join(options.owner ?? '', options.maxInFlight, hooks.wake) ?? null
  }

  get inFlight (): number {
    return this.#inFlight
  }

  /** Counts one slot if the target, the job and the budget allow one; end the turn with endTurn(). */
  take (): boolean {
    if (this.#inFlight >= this.#limit.current || !this.guard.mayStart()) return false
    if (this.#share !== null && !this.#share.tryTake()) {
      this.#wasRefused = true
      return false
    }
    this.#inFlight++
    return true
  }

  /** Starts `work` in a slot take() counted: now, or when the rate limit allows. */
  launch (work: Work): void {
    this.guard.launching(work)
    if (this.#rateGate === null) this.#hooks.start(work)
    else this.#rateGate.admit(work)
  }

  /** `count` slots are free again (attempts settled, or taken and never used). */
  release (count = 1): void {
    this.#inFlight -= count
    this.#share?.give(count)
  }

  /** The sender stops taking slots for now: tells the budget whether it waits for one. */
  endTurn (): void {
    this.#share?.endTurn(this.#wasRefused)
    this.#wasRefused = false
  }

  /** Rate-held starts give their slots back and are queued first, behind `first`; returns them. */
  requeueRateHeld (first: Work[] = []): Work[] {
    const held = this.#takeRateHeld()
    this.#hooks.requeue(first.concat(held))
    return held
  }

  /** Paused or stopping: the job's share of the budget goes to the others meanwhile. */
  setActive (isActive: boolean): void {
    this.#share?.setActive(isActive)
  }

  /** Stopping: rate-held starts and records waiting for a verdict are dropped unsent. */
  stop (): void {
    this.#takeRateHeld()
    this.guard.dropWaiting()
    this.setActive(false)
  }

  /** The sender is gone: held starts never run and the budget forgets the job. */
  close (): void {
    this.#rateGate?.takeBack()
    this.guard.close()
    this.#share?.leave()
  }

  /** Rate-held starts, in reservation order, taken back with their slots. */
  #takeRateHeld (): Work[] {
    const held = this.#rateGate?.takeBack() ?? []
    if (held.length > 0) this.release(held.length)
    return held
  }
}
