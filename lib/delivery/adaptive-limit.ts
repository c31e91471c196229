/**
 * A job's live concurrency limit under `adaptive_concurrency` (DESIGN §8): AIMD, as Netflix's
 * concurrency-limits AIMDLimit, with TCP's slow start in front. `concurrency` is the ceiling.
 *
 *   start   INITIAL_LIMIT (or the ceiling, if lower)
 *   grow    on an answer that is not an overload, while the job uses at least half the
 *           limit: +1 per answer below the threshold (doubles per round trip: slow start),
 *           +1/limit above it (one more per round trip: congestion avoidance)
 *   cut     on an overload (429, 503, timeout, connection error): limit × BACKOFF, and the
 *           threshold drops to it. Once per generation: only an attempt launched after the
 *           last cut can cut again, so the burst of 429s answering one overshoot counts once
 *           (TCP reacts once per window, not once per lost packet).
 *
 * The limit is a float; `current`, what the sender enforces and the status shows, is its
 * floor, at least 1. O(1), no allocation: it runs once per attempt.
 */
export const INITIAL_LIMIT = 4
export const BACKOFF = 0.7

export class AdaptiveLimit {
  /** The limit in force: in-flight attempts the job may have. */
  current: number
  readonly #ceiling: number
  #limit: number
  #threshold: number
  #cuts = 0

  constructor (ceiling: number) {
    this.#ceiling = ceiling
    this.#limit = Math.min(ceiling, INITIAL_LIMIT)
    this.#threshold = ceiling
    this.current = this.#limit
  }

  /** Cuts so far: an attempt remembers it at launch, and cut() takes it back. */
  get cuts (): number {
    return this.#cuts
  }

  /** The target answered well; `inFlight` is how many of the job's attempts are out now. */
  grow (inFlight: number): void {
    if (this.#limit >= this.#ceiling || inFlight * 2 < this.current) return
    this.#limit = Math.min(this.#ceiling, this.#limit + (this.#limit < this.#threshold ? 1 : 1 / this.#limit))
    this.current = Math.floor(this.#limit)
  }

  /** The target is overloaded, says an attempt launched when `cutsAtLaunch` cuts had been made. */
  cut (cutsAtLaunch: number): void {
    if (cutsAtLaunch !== this.#cuts) return
    this.#cuts++
    this.#limit = Math.max(1, this.#limit * BACKOFF)
    this.#threshold = this.#limit
    this.current = Math.floor(this.#limit)
  }
}
