/**
 * Writes what a job's holder sees of its target, the live concurrency limit and the
 * circuit (DESIGN §8), into the job's meta hash, where the status of any instance of the
 * fleet reads it: a circuit change at once, a moved limit at most once a second, never a
 * Redis call per record. Best effort: a failed write is logged and the next one catches up.
 * Writes are chained, so they land in the order made, and fenced (lua/write-signals.lua):
 * a holder deposed by a takeover writes nothing over the new holder's signals.
 */
import type { Logger } from '../logger.js'
import type { CircuitState } from '../domain/job-meta.js'
import type { Lease, LeaseStore } from '../store/lease-store.js'

export const PUBLISH_INTERVAL_MS = 1000

export interface Signals {
  readonly concurrencyLimit: number
  readonly circuit: CircuitState
}

export class SignalPublisher {
  readonly #leaseStore: LeaseStore
  readonly #lease: Lease
  readonly #read: () => Signals
  readonly #log: Logger
  #written: Signals | null = null
  #chain: Promise<void> = Promise.resolve()
  #timer: NodeJS.Timeout | null = null

  constructor (leaseStore: LeaseStore, lease: Lease, read: () => Signals, log: Logger) {
    this.#leaseStore = leaseStore
    this.#lease = lease
    this.#read = read
    this.#log = log
  }

  /** Writes now, then checks once a second. */
  start (): void {
    this.publish()
    this.#timer = setInterval(() => this.publish(), PUBLISH_INTERVAL_MS)
    this.#timer.unref()
  }

  /** Writes the signals if they moved since the last write. */
  publish (): void {
    const signals = this.#read()
    const written = this.#written
    if (written !== null && written.concurrencyLimit === signals.concurrencyLimit && written.circuit === signals.circuit) return
    this.#written = signals
    this.#chain = this.#chain
      .then(async () => { await this.#leaseStore.writeSignals(this.#lease, signals) })
      .catch((err: unknown) => {
        this.#written = null
        this.#log.warn({ err }, 'writing the job\'s concurrency limit and circuit failed')
      })
  }

  /**
   * No more writes; resolves once the ones made have landed. No last write: the run may have
   * ended because another instance took the job over, whose signals are the ones that count.
   */
  async stop (): Promise<void> {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    await this.#chain
  }
}
