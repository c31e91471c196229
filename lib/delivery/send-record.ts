/**
 * One attempt at one record: METHOD path with the payload as body and the headers of
 * DESIGN §2, through undici's `dispatch` with a small handler object. Always ends in one
 * call of `done` with an Attempt.
 *
 * When the answer counts (issue 18 item 10): a 2xx status is the target's answer, so the
 * attempt succeeds when its headers arrive (time_ms is headers time); a failure status
 * counts once its first SNIPPET_BYTES have arrived or its body has ended, or — if the body
 * drips — at the attempt's deadline, still as `http_status` with its status. Whatever body
 * is left is then read and dropped in the background, for at most DRAIN_MAX_BYTES and the
 * drain span; past either bound the request is aborted, which destroys its connection.
 * Nothing is ever buffered beyond the snippet.
 *
 * Why dispatch and not `pool.request`: request builds a Readable body, an extra promise and
 * an abort listener per call, work a job's attempts do not need (measured in
 * docs/performance.md, "Why the hot path looks the way it does").
 * Why a callback and not a promise: a promise per attempt adds a promise, its resolve
 * functions, a reaction and a microtask hop — garbage that lives as long as the request
 * and was a measurable share of the young-generation GC time.
 * Why our own deadlines: undici's headersTimeout/bodyTimeout run on its coarse "fast
 * timers" (about 1 s resolution), so a timeout_ms of 200 fired after ~1 s. The drain bound
 * reuses the same sweeper (DeadlineSweeper), so it adds no timer per request either.
 * Headers are a flat array prebuilt once per job; per record only the two record headers
 * are appended.
 */
import type { Pool } from 'undici'
import type { JobSpec } from '../domain/job-spec.js'
import { VERSION } from '../version.js'
import { DeadlineSweeper } from './deadline-sweeper.js'
import { DRAIN_MAX_MS, type Attempt, type AttemptSender } from './attempt.js'
import { AttemptHandler, type AttemptTracker } from './attempt-handler.js'

export { DRAIN_MAX_BYTES, errorAttempt, toOutcome, type Attempt, type AttemptCallback, type AttemptSender } from './attempt.js'

const CANCELLED: Attempt = { ok: false, status: null, timeMs: 0, error: 'cancelled' }

export function createAttemptSender (spec: JobSpec, jobId: string, pool: Pool): AttemptSender {
  const baseHeaders = [
    'content-type', 'application/json',
    'user-agent', `chronos/${VERSION}`,
    'x-chronos-job-id', jobId
  ]
  for (const { key, value } of spec.metadata) baseHeaders.push(key, value)
  const { method, path, timeoutMs } = spec
  const tracker: AttemptTracker = { sweeper: new DeadlineSweeper(timeoutMs), timeoutMs, drainMs: Math.min(DRAIN_MAX_MS, timeoutMs / 2) }
  const listening = new WeakSet<AbortSignal>()

  return function sendAttempt (record, signal, done) {
    if (signal.aborted) {
      process.nextTick(done, CANCELLED)
      return
    }
    // One abort listener per job signal, not one per attempt. Only attempts still waiting
    // for their answer are cancelled; a draining body has already counted.
    if (!listening.has(signal)) {
      listening.add(signal)
      signal.addEventListener('abort', () => { for (const handler of tracker.sweeper.live.takeWhile()) handler.abort('cancelled') }, { once: true })
    }
    // Built before the handler is tracked: a throw here leaves nothing behind.
    const headers = baseHeaders.concat('idempotency-key', `${jobId}:${record.id}`, 'x-chronos-record-id', record.id)
    const handler = new AttemptHandler(tracker, done)
    pool.dispatch({ method, path, headers, body: record.payload, headersTimeout: 0, bodyTimeout: 0 }, handler)
    handler.dispatched()
  }
}
