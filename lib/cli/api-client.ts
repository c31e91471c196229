/**
 * The CLI's HTTP client: undici requests to Chronos with the API key, streaming bodies both
 * ways. An error answer becomes an ApiError carrying the API's code, message and details;
 * an unreachable server an ApiError with code `network_error`. Bodies are always consumed
 * or dumped (house rule 8).
 */
import type { Readable } from 'node:stream'
import { request, type Dispatcher } from 'undici'
import type { CliConfig } from './cli-config.js'

export interface ErrorDetail { line?: number, record?: number, reason?: string }

export class ApiError extends Error {
  readonly code: string
  readonly status: number | null
  readonly details: ErrorDetail[]
  /** Set once the details were printed in a better form (submit's compiler-style lines). */
  areDetailsShown = false

  constructor (code: string, message: string, status: number | null, details: ErrorDetail[] = [], cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause })
    this.name = 'ApiError'
    this.code = code
    this.status = status
    this.details = details
  }
}

export interface CallOptions {
  readonly method?: Dispatcher.HttpMethod
  readonly headers?: Record<string, string>
  readonly body?: Readable | string
  readonly signal?: AbortSignal
}

export class ApiClient {
  readonly #config: CliConfig

  constructor (config: CliConfig) {
    this.#config = config
  }

  get url (): string {
    return this.#config.url
  }

  /** The raw answer of a 2xx; an ApiError for anything else (its body read for the error). */
  async call (path: string, options: CallOptions = {}): Promise<Dispatcher.ResponseData> {
    const headers: Record<string, string> = { ...options.headers }
    if (this.#config.apiKey !== '') headers.authorization = `Bearer ${this.#config.apiKey}`
    let answer: Dispatcher.ResponseData
    try {
      answer = await request(`${this.#config.url}${path}`, {
        method: options.method ?? 'GET',
        headers,
        body: options.body ?? null,
        signal: options.signal ?? null,
        headersTimeout: 60_000,
        bodyTimeout: 0
      })
    } catch (err) {
      if ((err as { name?: string }).name === 'AbortError') throw err
      const reason = err instanceof Error ? `${(err as { code?: string }).code ?? err.name}: ${err.message}` : String(err)
      throw new ApiError('network_error', `cannot reach Chronos at ${this.#config.url} (${reason})`, null, [], err)
    }
    if (answer.statusCode >= 200 && answer.statusCode < 300) return answer
    throw await toApiError(answer)
  }

  /** A JSON answer of a 2xx. */
  async json<T = Record<string, any>> (path: string, options: CallOptions = {}): Promise<T> {
    const answer = await this.call(path, options)
    return await answer.body.json() as T
  }
}

async function toApiError (answer: Dispatcher.ResponseData): Promise<ApiError> {
  const text = await answer.body.text().catch(() => '')
  try {
    const { error } = JSON.parse(text) as { error: { code: string, message: string, details?: ErrorDetail[], job_id?: string } }
    const message = error.job_id === undefined ? error.message : `${error.message} (job ${error.job_id})`
    return new ApiError(error.code, message, answer.statusCode, error.details ?? [])
  } catch {
    return new ApiError('http_error', `HTTP ${answer.statusCode}: ${text.slice(0, 200)}`, answer.statusCode)
  }
}
