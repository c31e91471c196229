/** Job ids are `job-<uuid v4>`: unguessable. */
import { randomUUID } from 'node:crypto'

export function newJobId (): string {
  return `job-${randomUUID()}`
}
