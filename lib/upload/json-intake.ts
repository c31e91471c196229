/**
 * The stages of a JSON upload (DESIGN §10): [gunzip] → Utf8Text (fatal UTF-8, byte limit)
 * → JsonSpoolParser (stream-json's parser feeding a JsonAssembler: the spool bytes).
 * Memory stays flat: the parser holds one input chunk (decoding a slice of it at a time),
 * the assembler one config or record.
 *
 * Answers (beside the NDJSON ones, which hold as they are):
 * - malformed JSON, a truncated document, trailing data, a top-level array or scalar,
 *   `records` not an array, a second `records`, an unknown top-level member, invalid
 *   UTF-8 → 400 invalid_request;
 * - a missing, repeated, invalid or too deeply nested `config` → 400 invalid_config;
 * - an element of `records` that is no valid record → 400 invalid_record naming it by
 *   0-based index; nesting deeper than a payload may is payload_too_deep there;
 * - no `config` and no `records`, an empty or all-blank body, or no records → 400 empty_job;
 * - one record or the config over CHRONOS_MAX_LINE_BYTES → 413 line_too_large.
 */
import type { Duplex } from 'node:stream'
import { EmptyJobError, InvalidRequestError, isChronosError } from '../errors.js'
import type { JobSpec, JobSpecLimits } from '../domain/job-spec.js'
import { Utf8Text } from './utf8-text.js'
import { JsonAssembler } from './json-assembler.js'
import { JsonSpoolParser } from './json-spool-parser.js'

export interface IntakeOptions {
  readonly maxLineBytes: number
  readonly maxUploadBytes: number
  readonly specLimits: JobSpecLimits
  /** Runs once the config is valid (conflict and target checks); a rejection fails the upload. */
  readonly onSpec?: (spec: JobSpec) => Promise<void> | void
  /** JSON only: the line to write over the spool's placeholder line 1 (records came first). */
  readonly onHead?: (head: Buffer) => void
}

/** What accept-upload.ts needs of an upload format's stages. */
export interface UploadIntake {
  /** Joined in this order between the (decompressed) body and the spool writer. */
  readonly stages: readonly Duplex[]
  readonly bytes: number
  readonly spec: JobSpec | null
  readonly records: number
  /** The error to answer with for a failure of the stages. */
  answerFor: (err: unknown) => unknown
}

export function createJsonIntake (options: IntakeOptions): UploadIntake {
  const text = new Utf8Text(options.maxUploadBytes)
  const assembler = new JsonAssembler(options)
  const parser = new JsonSpoolParser(assembler)
  return {
    stages: [text, parser],
    get bytes () { return text.bytes },
    get spec () { return assembler.spec },
    get records () { return assembler.records },
    answerFor (err) {
      // stream-json's parse errors are plain Errors whose message starts "Parser ".
      if (!(err instanceof Error) || isChronosError(err) || !err.message.startsWith('Parser ')) return err
      if (!text.hasContent) return new EmptyJobError('the upload is empty: send {"config": {…}, "records": […]}')
      return new InvalidRequestError(`the body is not one valid JSON document: ${err.message.replace(/^Parser /, 'parser ')}`, { cause: err })
    }
  }
}
