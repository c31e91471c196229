/**
 * One job's circuit breaker (DESIGN §8): whether its target looks down, judged from the
 * outcomes of its attempts, and when to probe it again. Pure state with an explicit clock;
 * the sender's TargetGuard (pipeline/target-guard.ts) acts on it.
 *
 * Only outage-like outcomes count as failures (retry-policy.ts isOutage: connection errors,
 * timeouts, 502, 503, 504); any other answer, a 400 or a 500 too, shows a target that is up.
 * The circuit opens on either of two signs:
 *   - a sudden outage: STREAK outage-like outcomes in a row, nothing else between (Envoy's
 *     consecutive-gateway-failure ejection, scaled from one host of many to the whole target);
 *   - a sustained partial one: over the last WINDOW_MS (BUCKETS rolling buckets, as opossum
 *     and Hystrix count), at least MIN_VOLUME outcomes of which FAILURE_RATIO or more failed.
 * Open, it lets one probe out after FIRST_PROBE_MS, then doubles the wait up to MAX_PROBE_MS;
 * the probe's first answer that is not outage-like closes it (half_open while a probe is
 * out). Recording is O(1) and allocates nothing: it runs once per attempt.
 */
import type { CircuitState } from '../domain/job-meta.js'

export type { CircuitState }

export const STREAK = 20
export const WINDOW_MS = 10_000
export const MIN_VOLUME = 20
export const FAILURE_RATIO = 0.5
export const FIRST_PROBE_MS = 5000
export const MAX_PROBE_MS = 60_000
const BUCKETS = 10
const BUCKET_MS = WINDOW_MS / BUCKETS

export class CircuitBreaker {
  #state: CircuitState = 'closed'
  /** Times the circuit has opened: outage failures from before an opening are given back. */
  #opens = 0
  /** When it opened (the first opening of an outage; failed probes keep it). */
  #openedAt = 0
  #probeAt = 0
  #probeDelayMs = FIRST_PROBE_MS
  /** Outage-like outcomes in a row. */
  #streak = 0
  readonly #totals = new Uint32Array(BUCKETS)
  readonly #outages = new Uint32Array(BUCKETS)
  #total = 0
  #outage = 0
  #bucket = 0
  #bucketEnd = -Infinity

  get state (): CircuitState {
    return this.#state
  }

  get opens (): number {
    return this.#opens
  }

  get openedAt (): number {
    return this.#openedAt
  }

  /** When the next probe may go (open circuit). */
  get probeAt (): number {
    return this.#probeAt
  }

  get streak (): number {
    return this.#streak
  }

  /** Counts one outcome while the circuit is closed; true when it opened the circuit. */
  record (isOutage: boolean, nowMs: number): boolean {
    this.#advance(nowMs)
    const bucket = this.#bucket
    ;(this.#totals[bucket] as number)++
    this.#total++
    if (!isOutage) {
      this.#streak = 0
      return false
    }
    ;(this.#outages[bucket] as number)++
    this.#outage++
    this.#streak++
    const isDown = this.#streak >= STREAK || (this.#total >= MIN_VOLUME && this.#outage >= this.#total * FAILURE_RATIO)
    if (isDown) this.open(nowMs)
    return isDown
  }

  /** The target is judged down (also by the sender, with nothing else to learn from). */
  open (nowMs: number): void {
    this.#state = 'open'
    this.#opens++
    this.#openedAt = nowMs
    this.#probeDelayMs = FIRST_PROBE_MS
    this.#probeAt = nowMs + FIRST_PROBE_MS
    this.#forget()
  }

  /** The probe is out. */
  probing (): void {
    this.#state = 'half_open'
  }

  /** The probe failed like an outage: wait twice as long (up to MAX_PROBE_MS) for the next. */
  probeFailed (nowMs: number): void {
    this.#state = 'open'
    this.#probeDelayMs = Math.min(this.#probeDelayMs * 2, MAX_PROBE_MS)
    this.#probeAt = nowMs + this.#probeDelayMs
  }

  /** The probe came back, or was taken back unsent: open again with the same wait. */
  probeWithdrawn (): void {
    this.#state = 'open'
  }

  /** The target answered the probe: a fresh window, as if nothing had happened. */
  close (): void {
    this.#state = 'closed'
    this.#forget()
  }

  /** Moves the window to `nowMs`: buckets that fell out of it are emptied (at most BUCKETS). */
  #advance (nowMs: number): void {
    if (nowMs < this.#bucketEnd) return
    if (nowMs >= this.#bucketEnd + WINDOW_MS) {
      this.#forget()
      this.#bucketEnd = nowMs + BUCKET_MS
      return
    }
    while (nowMs >= this.#bucketEnd) {
      this.#bucket = (this.#bucket + 1) % BUCKETS
      this.#total -= this.#totals[this.#bucket] as number
      this.#outage -= this.#outages[this.#bucket] as number
      this.#totals[this.#bucket] = 0
      this.#outages[this.#bucket] = 0
      this.#bucketEnd += BUCKET_MS
    }
  }

  #forget (): void {
    this.#totals.fill(0)
    this.#outages.fill(0)
    this.#total = 0
    this.#outage = 0
    this.#streak = 0
  }
}
