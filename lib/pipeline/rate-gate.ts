/**
 * The sender's starts paced by a job's RateLimiter: a start that does not conform waits in
 * a FIFO queue, and one timer (never one per record) starts the head when the limiter
 * allows it. Conformance is judged when the start really happens, so a late timer or a
 * busy event loop never lets a clump through. A held start keeps its slot in the sender;
 * takeBack() returns every held start, oldest first, and since a held start has not
 * counted on the limiter there is nothing to give back: a pause or a cancel starts none of
 * them (issue 18 item 5).
 */
import type { RateLimiter } from '../delivery/rate-limiter.js'

export class RateGate<T> {
  readonly #limiter: RateLimiter
  readonly #start: (item: T) => void
  readonly #held: T[] = []
  #timer: NodeJS.Timeout | null = null

  constructor (limiter: RateLimiter, start: (item: T) => void) {
    this.#limiter = limiter
    this.#start = start
  }

  /** Starts `item` now, or once the limiter allows it (after every start held before it). */
  admit (item: T): void {
    if (this.#held.length === 0 && this.#limiter.tryStart() === 0) return this.#start(item)
    this.#held.push(item)
    if (this.#timer === null) this.#wake()
  }

  /** The held starts, oldest first; none of them will run. */
  takeBack (): T[] {
    if (this.#timer !== null) clearTimeout(this.#timer)
    this.#timer = null
    return this.#held.splice(0)
  }

  /** Starts what conforms now, then sleeps until the head of the queue would. */
  #wake (): void {
    this.#timer = null
    while (this.#held.length > 0) {
      const waitMs = this.#limiter.tryStart()
      if (waitMs > 0) {
        this.#timer = setTimeout(() => this.#wake(), Math.ceil(waitMs))
        return
      }
      this.#start(this.#held.shift() as T)
    }
  }
}
