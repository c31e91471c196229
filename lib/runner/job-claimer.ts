/**
 * Finds work for this instance's free job slots (docs/scale-out.md): the oldest queued jobs
 * first, then jobs whose lease ended without being given back (their holder died, froze or
 * lost Redis): those are taken over. Every candidate is only a hint until acquire() takes
 * its lease, so instances racing for one job settle it in Redis: one wins, the rest move on.
 *
 * Looks when rung (`wake` on the control channel, a local upload, a slot freed) and every
 * POLL_MS anyway, so a lost message or an expired lease costs at most that long. Each look
 * reads a few entries of two sorted sets: O(free slots), not a scan of the keyspace.
 */
import type { Logger } from '../logger.js'
import type { Lease, LeaseStore } from '../store/lease-store.js'

/**
 * How often the queue and the lease list are read when nobody rings: the fallback for a lost
 * `wake` and the takeover sweep. An idle look is a round trip, a cost every instance pays all
 * the time, so not every second; but never less often than a third of the lease, so a short
 * lease is taken over as promptly as it is renewed.
 */
export const POLL_MS = 2000

export function pollIntervalMs (leaseMs: number): number {
  return Math.min(POLL_MS, Math.ceil(leaseMs / 3))
}

export interface JobClaimerOptions {
  readonly leases: LeaseStore
  readonly instanceId: string
  readonly freeSlots: () => number
  readonly isRunningHere: (jobId: string) => boolean
  /** A lease was taken: the job is this instance's to run now. */
  readonly launch: (lease: Lease) => void
  readonly log: Logger
}

export class JobClaimer {
  readonly #options: JobClaimerOptions
  #timer: NodeJS.Timeout | null = null
  #claiming: Promise<void> | null = null
  #isRungAgain = false
  /** The fleet's queue length at the last look (a gauge; exact enough for metrics). */
  queueLength = 0

  constructor (options: JobClaimerOptions) {
    this.#options = options
  }

  start (): void {
    this.#timer ??= setInterval(() => this.ring(), pollIntervalMs(this.#options.leases.leaseMs))
    this.ring()
  }

  stop (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  /** Look for work now (coalesced: one look at a time, one more if rung meanwhile). */
  ring (): void {
    if (this.#claiming !== null) {
      this.#isRungAgain = true
      return
    }
    this.#claiming = this.#claimAll()
      .catch((err: unknown) => this.#options.log.warn({ err }, 'looking for jobs to run failed'))
      .finally(() => {
        this.#claiming = null
        if (this.#isRungAgain) {
          this.#isRungAgain = false
          this.ring()
        }
      })
  }

  /** Resolves once the look under way (if any) is over. */
  async settled (): Promise<void> {
    await this.#claiming
  }

  async #claimAll (): Promise<void> {
    const { leases } = this.#options
    for (;;) {
      const free = this.#options.freeSlots()
      const limit = 2 * free + 4
      // Sent together, so an idle look costs about one round trip (the two keys may sit in
      // different Cluster slots, so no MULTI or script can join them).
      const [queued, expired] = await Promise.all([leases.queued(limit), free > 0 ? leases.expired(free + 4) : []])
      this.queueLength = queued.length < limit ? queued.length : await leases.queueLength()
      if (free === 0) return
      const candidates = [...queued, ...expired.filter((jobId) => !queued.includes(jobId))]
      let took = 0
      for (const jobId of candidates) {
        // Full now: once more round, so the gauge no longer counts the jobs just taken.
        if (this.#options.freeSlots() === 0) break
        if (this.#options.isRunningHere(jobId)) continue
        const lease = await leases.acquire(jobId, this.#options.instanceId)
        if (typeof lease === 'string') continue
        took++
        this.#options.launch(lease)
      }
      if (took === 0) return
    }
  }
}
