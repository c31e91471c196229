/**
 * The sender's starts held back by a job's RateLimiter: each start is reserved on the limiter
 * and either runs at once or waits on a timer until its reserved time. A held start keeps
 * its slot in the sender; takeBack() returns every held start that has not run, in
 * reservation order, and gives their reservations back to the limiter, so a pause or a
 * cancel starts none of them (issue 18 item 5).
 */
import type { RateLimiter } from '../delivery/rate-limiter.js'

export class RateGate<T> {
  readonly #limiter: RateLimiter
  readonly #start: (item: T) => void
  readonly #held = new Map<NodeJS.Timeout, T>()

  constructor (limiter: RateLimiter, start: (item: T) => void) {
    this.#limiter = limiter
    this.#start = start
  }

  /** Starts `item` now, or once the limiter allows it. */
  admit (item: T): void {
    const waitMs = this.#limiter.reserve()
    if (waitMs <= 0) return this.#start(item)
    const timer = setTimeout(() => {
      this.#held.delete(timer)
      this.#start(item)
    }, waitMs)
    this.#held.set(timer, item)
  }

  /** The held starts, oldest reservation first; none of them will run. */
  takeBack (): T[] {
    const items = [...this.#held.values()]
    for (const timer of this.#held.keys()) clearTimeout(timer)
    this.#held.clear()
    this.#limiter.release(items.length)
    return items
  }
}
