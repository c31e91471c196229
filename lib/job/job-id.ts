/** Job ids are `job-<uuid v4>`: unguessable, and recognisable apart from primarykeys. */
import { randomUUID } from 'node:crypto'

const JOB_ID = /^job-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

export function newJobId (): string {
  return `job-${randomUUID()}`
}

export function isJobId (value: string): boolean {
  return JOB_ID.test(value)
}
