/** One record on its way through the sender, and what the sender tracks of it between attempts. */
import type { JobRecord } from '../domain/record.js'

export interface Work {
  readonly record: JobRecord
  /** Attempts made (the outcome's `attempts`). */
  attempts: number
  /** Of those, attempts given back after an outage: they do not count against max_attempts. */
  given: number
  /** The record's latest outage-like failures in a row (not yet given back)… */
  outageRun: number
  /** …the breaker's opens when the first of them was launched… */
  outageEpoch: number
  /** …and whether, during one of them, a record launched later was answered. */
  isOutpaced: boolean
  /** The current attempt's place in the job's launches, the breaker's opens and the adaptive limit's cuts then. */
  launchSeq: number
  launchOpens: number
  launchCuts: number
  /** The record threw and has its outcome: a late callback of that attempt is ignored. */
  hasThrown: boolean
}

/** Every field set at once, so every Work has the same shape. */
export function newWork (record: JobRecord): Work {
  return { record, attempts: 0, given: 0, outageRun: 0, outageEpoch: 0, isOutpaced: false, launchSeq: 0, launchOpens: 0, launchCuts: 0, hasThrown: false }
}
