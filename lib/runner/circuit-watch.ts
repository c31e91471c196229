/**
 * What a job's holder does when the job's circuit changes (DESIGN §8): logs it, counts
 * openings for /metrics, has the change written for status readers at once, and once the
 * circuit has stayed open CHRONOS_CIRCUIT_MAX_OPEN_MS, pauses the job with
 * `pause_reason: "circuit_open"` and tells its callback (a pause gives the lease and the
 * slot up, as one asked by a user does; a resume starts with the circuit closed).
 */
import type { Logger } from '../logger.js'
import type { CircuitState } from '../domain/job-meta.js'
import type { JobSpec } from '../domain/job-spec.js'
import type { JobEnding } from './job-ending.js'
import type { CircuitStats } from './runner-deps.js'

export interface CircuitWatchOptions {
  readonly jobId: string
  readonly spec: JobSpec
  readonly ending: JobEnding
  readonly stats: CircuitStats
  /** Pauses the job running here, recording why. */
  readonly pause: (jobId: string, reason: string) => Promise<unknown>
  /** Writes the job's signals now. */
  readonly publish: () => void
  readonly log: Logger
}

export class CircuitWatch {
  readonly #options: CircuitWatchOptions
  #last: CircuitState = 'closed'

  constructor (options: CircuitWatchOptions) {
    this.#options = options
  }

  changed (state: CircuitState): void {
    const { log, stats } = this.#options
    if (state === 'half_open') log.info('circuit probe sent')
    else if (state === 'closed') log.info('circuit closed: the target answers again')
    else if (this.#last === 'closed') {
      stats.opens++
      log.warn('circuit open: the target looks down')
    } else log.info('circuit still open')
    this.#last = state
    this.#options.publish()
  }

  stuck (): void {
    const { jobId, spec, ending, log } = this.#options
    log.warn('circuit open too long: pausing the job')
    this.#options.pause(jobId, 'circuit_open')
      .then(() => ending.notify(jobId, spec, 'paused', log))
      .catch((err: unknown) => log.error({ err }, 'pausing a job whose circuit stayed open failed'))
  }
}
