/**
 * What became of one record: the unit that flows from the sender to the status sink.
 * Failures are reason strings here, never thrown errors (a bad record is data).
 */
export type FailureReason =
  | 'http_status'
  | 'timeout'
  | 'connect_error'
  | 'target_forbidden'
  | 'tls_error'
  | 'invalid_record'
  | 'cancelled'
  | 'request_error'

export interface Outcome {
  /** 0-based position of the record in the upload: outcomes are keyed by it, not by id. */
  readonly index: number
  /** The record's id, as JSON text (a string id keeps its quotes). */
  readonly idJson: string
  readonly ok: boolean
  /** HTTP status of the last attempt, null when no response arrived. */
  readonly status: number | null
  readonly attempts: number
  /** Wall time of the last attempt, in milliseconds. */
  readonly timeMs: number
  readonly error: FailureReason | null
  /** The first bytes of a failed response body, as text; for `tls_error`, its cause (an error code). */
  readonly snippet?: string
}
