/**
 * The sender's records between attempts: each waits on its retry timer (holding no slot),
 * then joins the due queue, which the sender starts before any new record. Starts taken
 * back from the rate gate at a pause go to the front of the due queue.
 */
export class RetryBacklog<T> {
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #due: T[] = []
  readonly #onDue: () => void
  #waiting = 0

  /** `onDue` runs each time a retry comes due. */
  constructor (onDue: () => void) {
    this.#onDue = onDue
  }

  /** Records waiting for their retry timer. */
  get waiting (): number {
    return this.#waiting
  }

  get isEmpty (): boolean {
    return this.#waiting === 0 && this.#due.length === 0
  }

  wait (item: T, delayMs: number): void {
    this.#waiting++
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      this.#waiting--
      this.#due.push(item)
      this.#onDue()
    }, delayMs)
    this.#timers.add(timer)
  }

  /** The next due record, or undefined. */
  shift (): T | undefined {
    return this.#due.shift()
  }

  /** Puts records ahead of every due one, in the given order. */
  putFirst (items: readonly T[]): void {
    this.#due.unshift(...items)
  }

  /** Drops every record, waiting or due: none of them starts. */
  clear (): void {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    this.#waiting = 0
    this.#due.length = 0
  }
}
