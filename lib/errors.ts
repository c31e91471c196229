/**
 * The error catalogue: every error Chronos raises on purpose has a stable wire code, an
 * HTTP status and an `expose` flag (Koa's names, so ctx.onerror answers right even if an
 * error slipped past error-response.ts). Code branches on `err.code`, never on messages.
 */

/** A problem with one physical line of an NDJSON upload (1-based). */
export interface LineProblem {
  line: number
  reason: string
}

/** A problem with one element of a JSON upload's `records` (0-based, DESIGN §10). */
export interface RecordProblem {
  record: number
  reason: string
}

/**
 * One entry of an error's `details`: a line (NDJSON), a record (JSON), or neither (a JSON
 * upload's config: the document has only one).
 */
export interface UploadProblem {
  line?: number
  record?: number
  reason: string
}

export interface ErrorOptions {
  cause?: unknown
  details?: readonly UploadProblem[]
}

export abstract class ChronosError extends Error {
  abstract readonly code: string
  abstract readonly status: number
  readonly expose: boolean = true
  readonly details: readonly UploadProblem[] | undefined

  constructor (message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.details = options.details
  }
}

export class UnsupportedMediaTypeError extends ChronosError {
  readonly code = 'unsupported_media_type'
  readonly status = 415
}

export class InvalidConfigError extends ChronosError {
  readonly code = 'invalid_config'
  readonly status = 400
}

export class InvalidRecordError extends ChronosError {
  readonly code = 'invalid_record'
  readonly status = 400
}

export class EmptyJobError extends ChronosError {
  readonly code = 'empty_job'
  readonly status = 400
}

export class PayloadTooLargeError extends ChronosError {
  readonly code = 'payload_too_large'
  readonly status = 413
}

export class LineTooLargeError extends ChronosError {
  readonly code = 'line_too_large'
  readonly status = 413
}

export class JobConflictError extends ChronosError {
  readonly code = 'job_conflict'
  readonly status = 409
  readonly jobId: string

  constructor (message: string, jobId: string) {
    super(message)
    this.jobId = jobId
  }
}

export class UnauthorizedError extends ChronosError {
  readonly code = 'unauthorized'
  readonly status = 401
}

export class TargetForbiddenError extends ChronosError {
  readonly code = 'target_forbidden'
  readonly status = 403
}

export class StoreUnavailableError extends ChronosError {
  readonly code = 'store_unavailable'
  readonly status = 503
}

export class InsufficientStorageError extends ChronosError {
  readonly code = 'insufficient_storage'
  readonly status = 507
}

export class ShuttingDownError extends ChronosError {
  readonly code = 'shutting_down'
  readonly status = 503
}

export class NotFoundError extends ChronosError {
  readonly code = 'not_found'
  readonly status = 404
}

export class InvalidRequestError extends ChronosError {
  readonly code = 'invalid_request'
  readonly status = 400
}

export class InvalidStateError extends ChronosError {
  readonly code = 'invalid_state'
  readonly status = 409
}

/**
 * The client went away (reset, or cut off by the idle timeout) before its request ended.
 * Nobody reads the answer; 499 is nginx's "client closed request", for the access log.
 */
export class ClientAbortedError extends ChronosError {
  readonly code = 'client_aborted'
  readonly status = 499
}

/** A bad process environment at boot. Never reaches HTTP: main.ts prints it and exits. */
export class ConfigError extends Error {
  readonly code = 'config_error'
  readonly problems: readonly string[]

  constructor (problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/**
 * Errors that never reach a client: each ends something inside Chronos (a record, a job's
 * run) and is matched on its `code` where it is handled.
 */
export abstract class InternalError extends Error {
  abstract readonly code: string

  constructor (message: string) {
    super(message)
    this.name = new.target.name
  }
}

/** The job's meta hash was gone when outcomes were written: Redis lost the job's state. */
export class StateLostError extends InternalError {
  readonly code = 'state_lost'
}

/**
 * A write carried a fencing token older than the job's newest: another instance took the
 * job over (docs/scale-out.md). The writer stops the job at once and writes nothing more.
 */
export class FencedError extends InternalError {
  readonly code = 'fenced'
}

/** A spool line longer than any upload could have written: the spool file is corrupt. */
export class LineTooLongError extends InternalError {
  readonly code = 'line_too_long'
}

/** Carries the `target_forbidden` reason through undici to the record's outcome. */
export class ConnectForbiddenError extends InternalError {
  readonly code = 'target_forbidden'
}

/** Whether an error is Redis having lost a job's state (the status sink and a run stop on it). */
export function isStateLost (err: unknown): boolean {
  return errorCode(err) === 'state_lost'
}

export function isFenced (err: unknown): boolean {
  return errorCode(err) === 'fenced'
}

export function isChronosError (err: unknown): err is ChronosError {
  return err instanceof Error && typeof (err as Partial<ChronosError>).code === 'string' &&
    typeof (err as Partial<ChronosError>).status === 'number' && 'expose' in err
}

/** Node's system errors (fs, net) carry a string `code`. */
export function errorCode (err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code
    return typeof code === 'string' ? code : undefined
  }
  return undefined
}
