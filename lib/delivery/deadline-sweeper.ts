/**
 * Enforces the deadlines of a job's attempts from one timer that ticks while any attempt is
 * tracked (at a tenth of timeout_ms, 5–250 ms), instead of a timer per attempt: a deadline
 * fires at most one tick late, and the per-record path creates no timer at all.
 *
 * Two lists, each in deadline order because every item of a list gets the same span from
 * the moment it is added: `live` holds attempts waiting for their answer (timeout_ms from
 * their start), `draining` holds answered attempts whose body is still being read and
 * dropped (the drain span from their answer). A sweep stops at the first item of each list
 * still within its deadline, and calls expire() on the ones before it.
 */
import { LiveList, type LiveItem } from './live-list.js'

export interface Expiring<T> extends LiveItem<T> {
  /** performance.now() time at which expire() is due. */
  readonly deadline: number
  expire: () => void
}

export class DeadlineSweeper<T extends Expiring<T>> {
  readonly live = new LiveList<T>()
  readonly draining = new LiveList<T>()
  readonly #tickMs: number
  #timer: NodeJS.Timeout | null = null

  constructor (timeoutMs: number) {
    this.#tickMs = Math.min(Math.max(Math.floor(timeoutMs / 10), 5), 250)
  }

  arm (): void {
    if (this.#timer !== null) return
    this.#timer = setTimeout(() => this.#sweep(), this.#tickMs)
    this.#timer.unref()
  }

  #sweep (): void {
    this.#timer = null
    const now = performance.now()
    const isDue = (item: T): boolean => item.deadline <= now
    for (const item of this.live.takeWhile(isDue)) item.expire()
    for (const item of this.draining.takeWhile(isDue)) item.expire()
    if (this.live.size > 0 || this.draining.size > 0) this.arm()
  }
}
