/**
 * POSTs a job's status object to its `callback_url` when it ends (or pauses itself because
 * its target stayed down, DESIGN §8), retried like a record (same retryable set and
 * backoff, up to the job's max_attempts). With a secret configured it is
 * signed the Standard Webhooks way: `webhook-id`, `webhook-timestamp` and
 * `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, so receivers can
 * verify it with any Standard Webhooks library. The callback goes through the same
 * connect-time target policy as records.
 */
import { createHmac } from 'node:crypto'
import { Agent, request } from 'undici'
import type { Logger } from '../logger.js'
import { VERSION } from '../version.js'
import { errorAttempt, type Attempt } from './send-record.js'
import { retryDelayMs } from './retry-policy.js'
import type { ConnectorFactoryForUrl } from './guarded-connector.js'

export interface FinalCallbackOptions {
  readonly url: string
  readonly jobId: string
  readonly body: string
  /** The Standard Webhooks message id, the same for every try. @defaultValue `<jobId>:final` */
  readonly webhookId?: string
  readonly maxAttempts: number
  readonly timeoutMs: number
  /** CHRONOS_CALLBACK_SECRET; null sends the callback unsigned. */
  readonly secret: string | null
  readonly createConnector: ConnectorFactoryForUrl
  readonly log: Logger
}

/** Standard Webhooks headers for one delivery. */
export function signWebhook (secret: string, id: string, timestampSeconds: number, body: string): Record<string, string> {
  // `whsec_`-prefixed secrets carry base64 key bytes; any other string is used as it is.
  const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret, 'utf8')
  const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64')
  return { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds), 'webhook-signature': `v1,${signature}` }
}

/** Resolves once the callback was accepted (2xx) or finally failed; never rejects. */
export async function sendFinalCallback (options: FinalCallbackOptions): Promise<boolean> {
  const url = new URL(options.url)
  const dispatcher = new Agent({ connect: options.createConnector(url), connections: 1 })
  const webhookId = options.webhookId ?? `${options.jobId}:final`
  try {
    for (let attempts = 1; ; attempts++) {
      const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': `chronos/${VERSION}` }
      if (options.secret !== null) Object.assign(headers, signWebhook(options.secret, webhookId, Math.floor(Date.now() / 1000), options.body))
      const attempt = await postOnce(url, headers, options, dispatcher)
      if (attempt.ok) {
        options.log.info({ attempts }, 'final callback delivered')
        return true
      }
      const delayMs = retryDelayMs(attempt, attempts, options.maxAttempts)
      if (delayMs === null) {
        options.log.warn({ attempts, status: attempt.status, reason: attempt.error }, 'final callback failed')
        return false
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs))
    }
  } finally {
    await dispatcher.close().catch(() => {})
  }
}

async function postOnce (url: URL, headers: Record<string, string>, options: FinalCallbackOptions, dispatcher: Agent): Promise<Attempt> {
  const startedAt = performance.now()
  const signal = AbortSignal.timeout(options.timeoutMs)
  try {
    const response = await request(url, { method: 'POST', headers, body: options.body, dispatcher, signal })
    await response.body.dump()
    const ok = response.statusCode >= 200 && response.statusCode < 300
    const retryAfter = response.headers['retry-after']
    const attempt: Attempt = { ok, status: response.statusCode, timeMs: performance.now() - startedAt, error: ok ? null : 'http_status' }
    return typeof retryAfter === 'string' ? { ...attempt, retryAfter } : attempt
  } catch (err) {
    return errorAttempt(err, performance.now() - startedAt, signal.aborted ? 'timeout' : null)
  }
}
