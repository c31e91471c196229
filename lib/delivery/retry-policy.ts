/**
 * Which failed attempts are tried again, and when (DESIGN §2): connection errors, timeouts
 * and 408, 425, 429, 500, 502, 503, 504; exponential backoff with full jitter (base 250 ms,
 * cap 30 s); a Retry-After header (seconds or HTTP date) wins, capped at 5 minutes.
 * And what a failed attempt says about the target (DESIGN §8): down (the circuit breaker
 * counts it), overloaded (adaptive concurrency cuts on it), or asking for a pause
 * (Retry-After on a 429 or 503 holds every start of the job).
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
 * The target looks down: it could not be reached or did not answer in time, or its gateway
 * says it is gone (502, 503, 504). A 400 or a 500 is an answer from a target that is up.
 */
export function isOutage (attempt: Attempt): boolean {
  if (attempt.ok) return false
  if (attempt.error === 'timeout' || attempt.error === 'connect_error') return true
  return attempt.status === 502 || attempt.status === 503 || attempt.status === 504
}

/** The target says "too much": 429, 503, a timeout or a refused or broken connection. */
export function isOverload (attempt: Attempt): boolean {
  if (attempt.ok) return false
  if (attempt.error === 'timeout' || attempt.error === 'connect_error') return true
  return attempt.status === 429 || attempt.status === 503
}

/** How long a 429 or 503 with Retry-After holds every start of the job, capped like a retry; 0 for none. */
export function holdMs (attempt: Attempt, nowMs: number = Date.now()): number {
  if (attempt.retryAfter === undefined || (attempt.status !== 429 && attempt.status !== 503)) return 0
  return Math.min(parseRetryAfter(attempt.retryAfter, nowMs) ?? 0, RETRY_AFTER_CAP_MS)
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
