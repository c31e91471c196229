/**
 * The check that runs once line 1 is valid (target policy, primarykey conflict): it runs
 * while the upload streams on, and the validator's next callback waits for it, so its
 * refusal (403, 409) is the upload's answer and wins over anything found after line 1.
 */
import type { TransformCallback } from 'node:stream'
import type { JobSpec } from '../domain/job-spec.js'

export type SpecCheckFn = (spec: JobSpec) => Promise<void> | void

export class SpecCheck {
  #running: Promise<void> | null = null
  #error: unknown = null

  start (check: SpecCheckFn, spec: JobSpec): void {
    this.#running = Promise.resolve()
      .then(() => check(spec))
      .then(() => { this.#running = null }, (err: unknown) => { this.#error = err })
  }

  /** Calls back once the check (if one is running) has settled; its error wins. */
  then (error: Error | null, callback: TransformCallback): void {
    const finish = (): void => {
      if (this.#error !== null) callback(this.#error as Error)
      else callback(error)
    }
    if (this.#running === null || error !== null) finish()
    else this.#running.then(finish, finish)
  }
}
