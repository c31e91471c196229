/**
 * Keeps one job's lease while this instance runs it (docs/scale-out.md): renews it every
 * third of the lease time, passes on what other instances asked of the job (cancel, pause),
 * and gives the job up the moment the lease cannot be trusted:
 *
 *   - the renewal says another instance holds a newer token (taken over), or
 *   - no renewal has succeeded for a whole lease time (Redis unreachable, or this process
 *     was stopped or its event loop stuck): another instance may have taken the job by now,
 *     so this one stops rather than find out by sending twice.
 *
 * The second rule is checked by the clock, not by a failed call: with Redis away a renewal
 * does not fail, it waits in the client's offline queue.
 */
import type { Logger } from '../logger.js'
import type { ControlRequest, Lease, LeaseStore } from '../store/lease-store.js'

export type LeaseLoss = 'taken_over' | 'unrenewed'

export interface LeaseKeeperOptions {
  readonly leases: LeaseStore
  readonly lease: Lease
  readonly onLost: (why: LeaseLoss) => void
  readonly onControl: (request: ControlRequest) => void
  readonly log: Logger
}

export class LeaseKeeper {
  readonly #options: LeaseKeeperOptions
  #lastRenewedMs = performance.now()
  #isRenewing = false
  #timer: NodeJS.Timeout | null = null

  constructor (options: LeaseKeeperOptions) {
    this.#options = options
  }

  start (): void {
    this.#lastRenewedMs = performance.now()
    this.#timer = setInterval(() => this.#tick(), Math.max(1, Math.floor(this.#options.leases.leaseMs / 3)))
  }

  stop (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }

  /** Renews now, outside the timer: whether this instance still holds the lease. */
  async confirm (): Promise<boolean> {
    if (this.#isUnrenewedTooLong()) return false
    return await this.#options.leases.renew(this.#options.lease).then((control) => control !== null, () => false)
  }

  #tick (): void {
    if (this.#isUnrenewedTooLong()) return this.#lose('unrenewed')
    if (this.#isRenewing) return
    this.#isRenewing = true
    this.#options.leases.renew(this.#options.lease).then((control) => {
      if (control === null) return this.#lose('taken_over')
      this.#lastRenewedMs = performance.now()
      if (control !== '') this.#options.onControl(control)
    }, (err: unknown) => {
      this.#options.log.warn({ err }, 'lease renewal failed')
    }).finally(() => { this.#isRenewing = false })
  }

  #isUnrenewedTooLong (): boolean {
    return performance.now() - this.#lastRenewedMs >= this.#options.leases.leaseMs
  }

  #lose (why: LeaseLoss): void {
    if (this.#timer === null) return
    this.stop()
    this.#options.log.warn({ why }, 'lease lost: stopping the job here')
    this.#options.onLost(why)
  }
}
