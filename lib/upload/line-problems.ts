/**
 * What is wrong with an upload, as the errors its answer carries. Invalid record lines are
 * collected (up to MAX_DETAILS, then the upload fails at once) and reported together at the
 * end; a bad config line, an over-long line or an empty upload fail on their own.
 */
import {
  EmptyJobError, InvalidConfigError, InvalidRecordError, LineTooLargeError, type LineProblem
} from '../errors.js'

export const MAX_DETAILS = 20

export class LineProblems {
  readonly #maxLineBytes: number
  readonly #problems: LineProblem[] = []

  constructor (maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes
  }

  get hasAny (): boolean {
    return this.#problems.length > 0
  }

  /**
   * A line that is no valid record; before the config line was read, no valid config (that
   * fails the upload at once). Returns the error to fail with now, or null to read on.
   */
  invalid (lineNumber: number, reason: string, isSpecRead: boolean): Error | null {
    if (!isSpecRead) {
      return new InvalidConfigError(`the config line (line ${lineNumber}) is invalid: ${reason}`, {
        details: [{ line: lineNumber, reason }]
      })
    }
    this.#problems.push({ line: lineNumber, reason })
    return this.#problems.length >= MAX_DETAILS ? this.#invalidRecords() : null
  }

  /** Line 1 names a target, but not a valid one: every problem of it at once. */
  invalidSpec (lineNumber: number, problems: readonly string[]): InvalidConfigError {
    return new InvalidConfigError(`the config line (line ${lineNumber}) is invalid: ${problems.join('; ')}`, {
      details: problems.map((reason) => ({ line: lineNumber, reason }))
    })
  }

  lineTooLarge (lineNumber: number): LineTooLargeError {
    const reason = `longer than ${this.#maxLineBytes} bytes`
    return new LineTooLargeError(`line ${lineNumber} is ${reason}`, { details: [{ line: lineNumber, reason }] })
  }

  /** The answer once every line was read: the collected records, or an empty upload. */
  final (isSpecRead: boolean, records: number): Error | null {
    if (this.#problems.length > 0) return this.#invalidRecords()
    if (!isSpecRead) return new EmptyJobError('the upload is empty: line 1 must name the target')
    if (records === 0) return new EmptyJobError('the upload has a config line but no records')
    return null
  }

  #invalidRecords (): InvalidRecordError {
    const first = this.#problems[0] as LineProblem
    const more = this.#problems.length > 1 ? ` (and ${this.#problems.length - 1} more listed in details)` : ''
    return new InvalidRecordError(`line ${first.line} is not a valid record: ${first.reason}${more}`, {
      details: [...this.#problems]
    })
  }
}
