/**
 * At most `perSecond` request starts in any one-second window, for one job (retries
 * included). Each start is reserved at a time no earlier than one second after the start
 * `perSecond` reservations before it — a ring of the last `perSecond` start times — which
 * bounds every window exactly, not only aligned ones.
 */
export class RateLimiter {
  readonly #starts: Float64Array
  #next = 0

  constructor (perSecond: number) {
    this.#starts = new Float64Array(perSecond).fill(-Infinity)
  }

  /** Reserves the next start; returns how many ms to wait before starting (0 = now). */
  reserve (nowMs: number = performance.now()): number {
    const at = Math.max(nowMs, (this.#starts[this.#next] as number) + 1000)
    this.#starts[this.#next] = at
    this.#next = (this.#next + 1) % this.#starts.length
    return at - nowMs
  }

  /**
   * Undoes the last `count` reservations, which must all still be waiting (a pause or a
   * cancel took them back before they started), so they do not delay later starts.
   * A reservation that had to wait was placed exactly 1000 ms after the one it replaced in
   * the ring, so stepping back restores that one exactly.
   */
  release (count: number): void {
    const size = this.#starts.length
    for (let i = 0; i < count; i++) {
      this.#next = (this.#next - 1 + size) % size
      this.#starts[this.#next] = (this.#starts[this.#next] as number) - 1000
    }
  }
}
