/** What a sender is given (sender.ts). */
import type { AttemptSender, Attempt } from '../delivery/send-record.js'
import type { SendSlotsOptions } from './send-slots.js'

/** Delay before attempt `attemptsMade + 1`, or null when the record is finished. */
export type RetryDecision = (attempt: Attempt, attemptsMade: number) => number | null

export interface SenderOptions extends SendSlotsOptions {
  readonly attempt: AttemptSender
  readonly retryDelayMs: RetryDecision
  /** Records waiting for a retry at once before new records stop starting. @defaultValue 4 × maxInFlight */
  readonly maxWaiting?: number
}
