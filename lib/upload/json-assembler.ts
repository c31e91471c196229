/**
 * stream-json tokens of a `{"config": {…}, "records": […]}` document in, spool bytes out
 * (DESIGN §10): line 1 the resolved JobSpec, then each record as one compact JSON
 * line `{"id":…,"payload":…}` (a record's other members are dropped, as the sender ignores
 * them), so the spool is the same as an NDJSON upload's.
 *
 * Records are written as they stream past, whichever member comes first. When `records`
 * comes before `config`, line 1 is written as a placeholder of maxLineBytes spaces and the
 * JobSpec is written over its start once known (onHead → SpoolWriter.setHead, before the fsync):
 * one pass, no record held in memory, at the cost of up to 1 MiB of padding in that spool.
 *
 * Records are read by json-record-reader.ts and named by 0-based index; invalid ones are
 * collected up to MAX_DETAILS. The config is counted as it streams (decoded characters,
 * every token at least 1) against maxLineBytes, so it is never held whole past its limit.
 */
import {
  EmptyJobError, InvalidConfigError, InvalidRecordError, InvalidRequestError, LineTooLargeError, type RecordProblem
} from '../errors.js'
import { parseJobSpec, specToWire, type JobSpec, type JobSpecLimits } from '../domain/job-spec.js'
import { jsonValueProblem } from '../domain/json-value-problem.js'
import { RECORD_REASON_TEXT } from '../domain/record.js'
import { ValueBuilder, type JsonToken } from './json-value-builder.js'
import { RecordReader, TOO_LARGE, type ElementResult } from './json-record-reader.js'
import { MAX_DETAILS } from './line-validator.js'

/** Levels of objects and arrays a config may nest (its deepest field, metadata, needs 3). */
export const MAX_CONFIG_DEPTH = 8

export interface JsonAssemblerOptions {
  readonly maxLineBytes: number
  readonly specLimits: JobSpecLimits
  /** Runs once the config is valid (conflict and target checks); a rejection fails the upload. */
  readonly onSpec?: (spec: JobSpec) => Promise<void> | void
  /** Given the JobSpec line to write over the placeholder line 1, before the stream ends. */
  readonly onHead?: (head: Buffer) => void
}

type Place = 'start' | 'document' | 'config' | 'records-start' | 'records' | 'record' | 'end'

export class JsonAssembler {
  readonly #options: JsonAssemblerOptions
  #place: Place = 'start'
  #key = ''
  #spec: JobSpec | null = null
  #hasRecordsMember = false
  #hasConfigMember = false
  /** Line 1 is a placeholder to be overwritten (records came first). */
  #isHeadPending = false
  #records = 0
  readonly #problems: RecordProblem[] = []
  #out = ''
  #error: Error | null = null
  /** The config being read. */
  #builder: ValueBuilder | null = null
  readonly #record: RecordReader
  #unitChars = 0
  #pendingCheck: Promise<void> | null = null

  constructor (options: JsonAssemblerOptions) {
    this.#options = options
    this.#record = new RecordReader(options.maxLineBytes)
  }

  get spec (): JobSpec | null {
    return this.#spec
  }

  get records (): number {
    return this.#records
  }

  /** The first problem that ends the upload, once one is known; later tokens are ignored. */
  get error (): Error | null {
    return this.#error
  }

  /** Takes one token; never throws (a problem becomes `error`). */
  take (token: JsonToken): void {
    if (this.#error !== null) return
    try {
      this.#error = this.#take(token)
    } catch (err) {
      this.#error = err instanceof Error ? err : new Error(String(err))
    }
  }

  /** Spool bytes gathered since the last call ('' once a record was invalid: nothing is kept). */
  takeOutput (): string {
    const out = this.#problems.length === 0 && this.#error === null ? this.#out : ''
    this.#out = ''
    return out
  }

  /** The conflict and target check started by a valid config, once; null when none is pending. */
  takeCheck (): Promise<void> | null {
    const check = this.#pendingCheck
    this.#pendingCheck = null
    return check
  }

  /** At the end of the document: its final problem, or null (and onHead was told line 1). */
  finish (): Error | null {
    this.#error ??= this.#finalError()
    if (this.#error === null && this.#spec !== null && this.#isHeadPending) {
      this.#options.onHead?.(Buffer.from(JSON.stringify(specToWire(this.#spec))))
    }
    return this.#error
  }

  #take (token: JsonToken): Error | null {
    switch (this.#place) {
      case 'start':
        if (token.name !== 'startObject') return shapeError('the body must be one JSON object {"config": {…}, "records": […]}')
        this.#place = 'document'
        return null
      case 'document':
        return this.#takeDocumentMember(token)
      case 'config':
        if (this.#count(token)) return this.#configTooLarge()
        return (this.#builder as ValueBuilder).feed(token) ? this.#takeConfig() : null
      case 'records-start':
        if (token.name !== 'startArray') return shapeError('"records" must be an array')
        this.#place = 'records'
        if (this.#spec === null) {
          this.#isHeadPending = true
          this.#out += `${' '.repeat(this.#options.maxLineBytes)}\n`
        }
        return null
      case 'records':
        if (token.name === 'endArray') {
          this.#place = 'document'
          return null
        }
        this.#place = 'record'
        return this.#takeElement(this.#record.start(token))
      case 'record':
        return this.#takeElement(this.#record.feed(token))
      case 'end':
        return null
    }
  }

  #takeDocumentMember (token: JsonToken): Error | null {
    if (token.name === 'endObject') {
      this.#place = 'end'
      return null
    }
    if (token.name === 'startKey') this.#key = ''
    else if (token.name === 'stringChunk') this.#key += token.value as string
    // Only two names are known: a longer one is refused before it can grow.
    if (this.#key.length > 64) return shapeError(`unknown member ${JSON.stringify(this.#key.slice(0, 64))}…: the document has only "config" and "records"`)
    if (token.name !== 'endKey') return null
    if (this.#key === 'config') {
      if (this.#hasConfigMember) return new InvalidConfigError('the document has two "config" members', { details: [{ reason: 'field "config" is repeated' }] })
      this.#hasConfigMember = true
      this.#builder = new ValueBuilder({ maxDepth: MAX_CONFIG_DEPTH, trackRepeats: true })
      this.#unitChars = 0
      this.#place = 'config'
      return null
    }
    if (this.#key === 'records') {
      if (this.#hasRecordsMember) return shapeError('the document has two "records" members')
      this.#hasRecordsMember = true
      this.#place = 'records-start'
      return null
    }
    return shapeError(`unknown member ${JSON.stringify(this.#key.slice(0, 100))}: the document has only "config" and "records"`)
  }

  #takeConfig (): Error | null {
    const builder = this.#builder as ValueBuilder
    this.#place = 'document'
    const fail = (reasons: string[]): InvalidConfigError => new InvalidConfigError(`the config is invalid: ${reasons.join('; ')}`, {
      details: reasons.map((reason) => ({ reason }))
    })
    if (builder.isTooDeep) return fail([`the config nests objects and arrays more than ${MAX_CONFIG_DEPTH} levels deep`])
    if (builder.repeats.length > 0) return fail(builder.repeats.map((path) => `field "${path}" is repeated`))
    if (jsonValueProblem(builder.value) !== null) return fail(['strings must be well-formed Unicode (no lone surrogate escape such as \\ud800)'])
    const result = parseJobSpec(builder.value, this.#options.specLimits)
    if (!result.ok) return fail(result.problems)
    const line = JSON.stringify(specToWire(result.spec))
    if (Buffer.byteLength(line) > this.#options.maxLineBytes) return this.#configTooLarge()
    this.#spec = result.spec
    if (!this.#hasRecordsMember) this.#out += `${line}\n`
    const onSpec = this.#options.onSpec
    if (onSpec !== undefined) {
      this.#pendingCheck = Promise.resolve().then(() => onSpec(result.spec))
      // Awaited by the parser (takeCheck), unless an error ends the upload first: never unhandled.
      this.#pendingCheck.catch(() => {})
    }
    return null
  }

  /** What the record reader made of the element's token: nothing yet, or its end. */
  #takeElement (result: ElementResult | typeof TOO_LARGE | null): Error | null {
    if (result === null) return null
    const index = this.#records++
    this.#place = 'records'
    if (result === TOO_LARGE) return this.#recordTooLarge(index)
    if ('line' in result) {
      if (this.#problems.length === 0) this.#out += `${result.line}\n`
      return null
    }
    this.#problems.push({ record: index, reason: RECORD_REASON_TEXT[result.problem] })
    return this.#problems.length >= MAX_DETAILS ? this.#invalidRecords() : null
  }

  /** Counts a token of the config; true once it is over maxLineBytes. */
  #count (token: JsonToken): boolean {
    this.#unitChars += typeof token.value === 'string' ? token.value.length : 1
    return this.#unitChars > this.#options.maxLineBytes
  }

  #configTooLarge (): LineTooLargeError {
    const reason = `the config is longer than ${this.#options.maxLineBytes} bytes`
    return new LineTooLargeError(reason, { details: [{ reason }] })
  }

  #recordTooLarge (index: number): LineTooLargeError {
    const reason = `longer than ${this.#options.maxLineBytes} bytes`
    return new LineTooLargeError(`record ${index} is ${reason}`, { details: [{ record: index, reason }] })
  }

  #invalidRecords (): InvalidRecordError {
    const first = this.#problems[0] as RecordProblem
    const more = this.#problems.length > 1 ? ` (and ${this.#problems.length - 1} more listed in details)` : ''
    return new InvalidRecordError(`record ${first.record} is not a valid record: ${first.reason}${more}`, {
      details: [...this.#problems]
    })
  }

  #finalError (): Error | null {
    if (this.#place !== 'end') return shapeError('the JSON document is truncated')
    if (this.#spec === null) {
      if (!this.#hasRecordsMember) return new EmptyJobError('the document has no "config" and no "records"')
      return new InvalidConfigError('the document has no "config" member', { details: [{ reason: 'field "config" is required' }] })
    }
    if (this.#problems.length > 0) return this.#invalidRecords()
    if (this.#records === 0) return new EmptyJobError('the document has a config but no records')
    return null
  }
}

function shapeError (message: string): InvalidRequestError {
  return new InvalidRequestError(message)
}
