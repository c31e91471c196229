/** Job ids are `job-<uuid v4>`: unguessable. */
import { randomUUID } from 'node:crypto'

export function newJobId (): string {
  return `job-${randomUUID()}`
}

/** A job registered and answered 202: what POST /run and retry-failed report. */
export interface AcceptedJob {
  readonly jobId: string
  readonly primaryKey: string
  /** Records in the job (blank lines not counted). */
  readonly records: number
}
