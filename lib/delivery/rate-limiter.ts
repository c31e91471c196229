/**
 * Even pacing for one job's starts (DESIGN §8), retries included: the generic cell rate
 * algorithm (GCRA), as Inngest's throttle uses it. Starts are spaced `interval = 1000 /
 * perSecond` ms apart; after an idle spell up to `burst` may go at once. The only state is
 * the theoretical arrival time `tat` of the next start on the even schedule:
 *
 *   a start at t conforms when t >= tat - (burst - 1) * interval; it sets tat = max(tat, t) + interval
 *
 * A sliding-window count (the previous limiter) let a second's whole budget go in a
 * clump; targets enforce limits on arrival, and connection setup reorders a clump, so
 * they saw up to `rate_limit` × 1.4 in one of their seconds (issue 13). Even spacing keeps
 * every one-second window at most `perSecond + burst` starts, whatever the timers' lateness:
 * conformance is judged at the real start time, never at a planned one.
 */
export class RateLimiter {
  readonly #interval: number
  /** How far ahead of the even schedule a start may run: (burst - 1) intervals. */
  readonly #tolerance: number
  #tat = -Infinity

  constructor (perSecond: number, burst = 1) {
    this.#interval = 1000 / perSecond
    this.#tolerance = (Math.max(1, Math.min(burst, perSecond)) - 1) * this.#interval
  }

  /** ms between starts on the even schedule. */
  get intervalMs (): number {
    return this.#interval
  }

  /**
   * Counts a start at `nowMs` and answers 0 if it conforms; otherwise counts nothing and
   * answers how many ms until one would.
   */
  tryStart (nowMs: number = performance.now()): number {
    const earliest = this.#tat - this.#tolerance
    if (nowMs < earliest) return earliest - nowMs
    this.#tat = Math.max(this.#tat, nowMs) + this.#interval
    return 0
  }
}
