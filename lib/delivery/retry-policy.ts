/**
 * Which failed attempts are tried again, and when (DESIGN §2): connection errors, timeouts
 * and 408, 425, 429, 500, 502, 503, 504; exponential backoff with full jitter (base 250 ms,
 * cap 30 s); a Retry-After header (seconds or HTTP date) wins, capped at 5 minutes.
 */
import type { Attempt } from './send-record.js'

export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504])
export const BACKOFF_BASE_MS = 250
export const BACKOFF_CAP_MS = 30_000
export const RETRY_AFTER_CAP_MS = 300_000

export function isRetryable (attempt: Attempt): boolean {
  if (attempt.ok) return false
  if (attempt.error === 'timeout' || attempt.error === 'connect_error') return true
  return attempt.status !== null && RETRYABLE_STATUSES.has(attempt.status)
}

/**
 * Milliseconds to wait before attempt number `attemptsMade + 1`, or null when the record is
 * done (success, a final failure, or no attempts left).
 */
export function retryDelayMs (
  attempt: Attempt, attemptsMade: number, maxAttempts: number,
  nowMs: number = Date.now(), random: () => number = Math.random
): number | null {
  if (attemptsMade >= maxAttempts || !isRetryable(attempt)) return null
  const retryAfterMs = attempt.retryAfter === undefined ? null : parseRetryAfter(attempt.retryAfter, nowMs)
  if (retryAfterMs !== null) return Math.min(retryAfterMs, RETRY_AFTER_CAP_MS)
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attemptsMade - 1))
  return Math.floor(random() * ceiling)
}

/** Retry-After as delta-seconds or an HTTP date; null when it is neither. */
export function parseRetryAfter (value: string, nowMs: number): number | null {
  const text = value.trim()
  if (/^\d+$/.test(text)) return Number(text) * 1000
  // HTTP dates start with a day name (IMF-fixdate, RFC 850, asctime); Date.parse alone
  // would also take "-5" or "1.5" as dates.
  if (!/^[A-Za-z]{3,9},? .*\d{1,2}:\d{2}:\d{2}/.test(text)) return null
  const dateMs = Date.parse(text)
  if (Number.isNaN(dateMs)) return null
  return Math.max(dateMs - nowMs, 0)
}
