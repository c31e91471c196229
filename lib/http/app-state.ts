/** What middleware leaves on ctx.state for the handlers after it. */
import type { Logger } from '../logger.js'

export interface AppState {
  reqId: string
  log: Logger
  /** Fingerprint of the caller's API key; '' when the API is open. */
  owner: string
  /** Set by handlers that act on a job, for the access log. */
  jobId?: string
}
