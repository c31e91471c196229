/**
 * The sender's request slots, and everything that decides whether one more request may
 * start: the job's own `maxInFlight` (its concurrency), the instance's InFlightBudget (its
 * fair share, when a budget is given) and the job's RateGate (a start held by the rate limit
 * keeps its slot). take() counts a slot on both the job and the budget; release() gives it
 * back once the attempt settles (or when it never started).
 */
import type { RateLimiter } from '../delivery/rate-limiter.js'
import type { InFlightBudget, JobShare } from './in-flight-budget.js'
import { RateGate } from './rate-gate.js'

export interface SendSlotsOptions {
  /** The job's concurrency: it never has more attempts in flight (rate-held starts included). */
  readonly maxInFlight: number
  readonly rateLimiter?: RateLimiter | undefined
  /** The instance's in-flight budget, shared with its other running jobs. @defaultValue none: only maxInFlight bounds the job */
  readonly budget?: InFlightBudget | undefined
  /** The API key fingerprint the job's share of the budget counts under ('' when the API is open). @defaultValue '' */
  readonly owner?: string | undefined
}

export class SendSlots<T> {
  readonly #maxInFlight: number
  readonly #start: (item: T) => void
  /** Spaces starts when the job has a rate limit; a held start keeps its slot. */
  readonly #rateGate: RateGate<T> | null
  /** This job's part of the instance's in-flight budget; null without a budget. */
  readonly #share: JobShare | null
  #inFlight = 0
  /** The budget said no during this turn: the job waits to be woken. */
  #wasRefused = false

  /** `start` begins an attempt; `wake` is called when the budget has a slot for a waiting job (defer the work). */
  constructor (options: SendSlotsOptions, start: (item: T) => void, wake: () => void) {
    this.#maxInFlight = options.maxInFlight
    this.#start = start
    this.#rateGate = options.rateLimiter === undefined ? null : new RateGate(options.rateLimiter, start)
    this.#share = options.budget?.join(options.owner ?? '', options.maxInFlight, wake) ?? null
  }

  get inFlight (): number {
    return this.#inFlight
  }

  /** Counts one slot if the job and the budget have one; end the turn with endTurn(). */
  take (): boolean {
    if (this.#inFlight >= this.#maxInFlight) return false
    if (this.#share !== null && !this.#share.tryTake()) {
      this.#wasRefused = true
      return false
    }
    this.#inFlight++
    return true
  }

  /** Starts `item` in a slot take() counted: now, or when the rate limit allows. */
  launch (item: T): void {
    if (this.#rateGate === null) this.#start(item)
    else this.#rateGate.admit(item)
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

  /** Rate-held starts, in reservation order, taken back with their slots. */
  takeRateHeld (): T[] {
    const held = this.#rateGate?.takeBack() ?? []
    if (held.length > 0) this.release(held.length)
    return held
  }

  /** Paused or stopping: the job's share of the budget goes to the others meanwhile. */
  setActive (isActive: boolean): void {
    this.#share?.setActive(isActive)
  }

  /** The sender is gone: held starts never run and the budget forgets the job. */
  close (): void {
    this.#rateGate?.takeBack()
    this.#share?.leave()
  }
}
