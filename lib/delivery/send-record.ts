/**
 * One attempt at one record: METHOD path with the payload as body and the headers of
 * DESIGN §2, through undici's `dispatch` with a small handler object. Always resolves to an
 * Attempt; the response body is dropped as it streams (2xx) or its first 512 bytes kept
 * (failure), never buffered whole.
 *
 * Why dispatch and not `pool.request`: request builds a Readable body, an extra promise and
 * an abort listener per call; at ~30k records/s on one core that overhead was the largest
 * item in the CPU profile after JSON.parse (see README, Performance).
 * Why a native timer per attempt: undici's headersTimeout/bodyTimeout run on its coarse
 * "fast timers" (about 1 s resolution), so a timeout_ms of 200 fired after ~1 s.
 * Headers are a flat array prebuilt once per job; per record only the two record headers
 * are appended.
 */
import type { Dispatcher, Pool } from 'undici'
import type { JobSpec } from '../job/job-spec.js'
import type { JobRecord } from '../job/record.js'
import type { FailureReason, Outcome } from '../job/outcome.js'
import { VERSION } from '../version.js'
import { takeSnippet } from './snippet.js'

export const SNIPPET_BYTES = 512

export interface Attempt {
  readonly ok: boolean
  readonly status: number | null
  readonly timeMs: number
  readonly error: FailureReason | null
  readonly snippet?: string
  /** The response's Retry-After header, when it had one. */
  readonly retryAfter?: string
}

export type AttemptSender = (record: JobRecord, signal: AbortSignal) => Promise<Attempt>

export function createAttemptSender (spec: JobSpec, jobId: string, pool: Pool): AttemptSender {
  const baseHeaders = [
    'content-type', 'application/json',
    'user-agent', `chronos/${VERSION}`,
    'x-chronos-job-id', jobId
  ]
  for (const { key, value } of spec.metadata) baseHeaders.push(key, value)
  const { method, path, timeoutMs } = spec
  const live = new Set<AttemptHandler>()
  const listening = new WeakSet<AbortSignal>()

  return async function sendAttempt (record, signal) {
    if (signal.aborted) return { ok: false, status: null, timeMs: 0, error: 'cancelled' }
    // One abort listener per job signal, not one per attempt.
    if (!listening.has(signal)) {
      listening.add(signal)
      signal.addEventListener('abort', () => { for (const handler of live) handler.abort('cancelled') }, { once: true })
    }
    return await new Promise<Attempt>((resolve) => {
      const handler = new AttemptHandler(timeoutMs, (attempt) => {
        live.delete(handler)
        resolve(attempt)
      })
      live.add(handler)
      const headers = baseHeaders.concat('idempotency-key', `${jobId}:${record.id}`, 'x-chronos-record-id', record.id)
      pool.dispatch({ method, path, headers, body: record.payload, headersTimeout: 0, bodyTimeout: 0 }, handler)
    })
  }
}

/** undici DispatchHandler for one attempt; settles exactly once. */
class AttemptHandler implements Dispatcher.DispatchHandler {
  readonly #startedAt = performance.now()
  readonly #settle: (attempt: Attempt) => void
  readonly #timer: NodeJS.Timeout
  #controller: Dispatcher.DispatchController | null = null
  #abortReason: 'timeout' | 'cancelled' | null = null
  #status = 0
  #retryAfter: string | undefined
  #snippet: Buffer[] | null = null
  #snippetBytes = 0
  #isSettled = false

  constructor (timeoutMs: number, settle: (attempt: Attempt) => void) {
    this.#settle = settle
    this.#timer = setTimeout(() => this.abort('timeout'), timeoutMs)
  }

  abort (reason: 'timeout' | 'cancelled'): void {
    if (this.#isSettled || this.#abortReason !== null) return
    this.#abortReason = reason
    this.#controller?.abort(new Error(reason))
  }

  onRequestStart (controller: Dispatcher.DispatchController): void {
    this.#controller = controller
    if (this.#abortReason !== null) controller.abort(new Error(this.#abortReason))
  }

  onResponseStart (_controller: Dispatcher.DispatchController, statusCode: number, headers: Record<string, string | string[]>): void {
    if (statusCode < 200) return // 1xx informational: the real answer follows
    this.#status = statusCode
    if (statusCode >= 300) {
      this.#snippet = []
      const retryAfter = headers['retry-after']
      if (typeof retryAfter === 'string') this.#retryAfter = retryAfter
    }
  }

  onResponseData (_controller: Dispatcher.DispatchController, chunk: Buffer): void {
    // 2xx bodies are dropped as they arrive; a failure keeps its first SNIPPET_BYTES.
    if (this.#snippet !== null && this.#snippetBytes < SNIPPET_BYTES) {
      this.#snippet.push(chunk)
      this.#snippetBytes += chunk.length
    }
  }

  onResponseEnd (): void {
    const status = this.#status
    if (status >= 200 && status < 300) return this.#finish({ ok: true, status, timeMs: this.#elapsed(), error: null })
    const attempt: Attempt = {
      ok: false, status, timeMs: this.#elapsed(), error: 'http_status', snippet: takeSnippet(this.#snippet ?? [], SNIPPET_BYTES)
    }
    this.#finish(this.#retryAfter === undefined ? attempt : { ...attempt, retryAfter: this.#retryAfter })
  }

  onResponseError (_controller: Dispatcher.DispatchController, err: Error): void {
    this.#finish({ ok: false, status: null, timeMs: this.#elapsed(), error: this.#abortReason ?? failureReason(err) })
  }

  #elapsed (): number {
    return performance.now() - this.#startedAt
  }

  #finish (attempt: Attempt): void {
    if (this.#isSettled) return
    this.#isSettled = true
    clearTimeout(this.#timer)
    this.#settle(attempt)
  }
}

/** The final outcome of a record from its last attempt. */
export function toOutcome (record: JobRecord, attempt: Attempt, attempts: number): Outcome {
  const outcome: Outcome = {
    index: record.index,
    idJson: record.idJson,
    ok: attempt.ok,
    status: attempt.status,
    attempts,
    timeMs: attempt.timeMs,
    error: attempt.error
  }
  return attempt.snippet === undefined || attempt.snippet === '' ? outcome : { ...outcome, snippet: attempt.snippet }
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT'])
const CONNECT_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CLOSED', 'ECONNABORTED'
])

/** Maps undici and socket errors to reason codes (matched on `code`, never on messages). */
export function failureReason (err: unknown): FailureReason {
  const code = (err as { code?: unknown } | null)?.code
  if (typeof code === 'string') {
    if (code === 'target_forbidden') return 'target_forbidden'
    if (TIMEOUT_CODES.has(code)) return 'timeout'
    if (CONNECT_CODES.has(code)) return 'connect_error'
  }
  return 'request_error'
}
