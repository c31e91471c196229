/**
 * One record line: `{"id": string | integer, "payload": string | object | array}`.
 * A string payload is sent verbatim; an object or array as its compact JSON text.
 * Returns a reason string instead of throwing, so one bad line never kills a stream.
 *
 * The same checks run at upload (line-validator.ts) and again when a record is sent, so
 * whatever passed can be sent (issue 18 item 1): every string of the id and payload is
 * well-formed Unicode, a string id is at most MAX_ID_BYTES, the payload nests at most
 * MAX_PAYLOAD_DEPTH levels.
 */
import { jsonValueProblem, MAX_PAYLOAD_DEPTH, mayHoldLoneSurrogate, mayNestDeeperThan } from './json-value-problem.js'

export { MAX_PAYLOAD_DEPTH }

/** UTF-8 bytes a string id may have: it is sent in two headers and kept in the results (issue 18 item 7). */
export const MAX_ID_BYTES = 256

export interface JobRecord {
  /** 0-based position among the upload's records. */
  readonly index: number
  /** The id as JSON text: `12` or `"abc"`. */
  readonly idJson: string
  /** The id as sent in headers: headerSafeId(), a one-to-one encoding. */
  readonly id: string
  readonly payload: string
}

export type RecordReason =
  | 'not_json' | 'not_an_object' | 'invalid_id' | 'id_too_long' | 'invalid_payload' | 'payload_too_deep' | 'lone_surrogate'

export const RECORD_REASON_TEXT: Readonly<Record<RecordReason, string>> = {
  not_json: 'not valid JSON',
  not_an_object: 'not a JSON object',
  invalid_id: '"id" must be a string or an integer',
  id_too_long: `"id" must be at most ${MAX_ID_BYTES} bytes of UTF-8`,
  invalid_payload: '"payload" must be a string, an object or an array',
  payload_too_deep: `"payload" may nest objects and arrays at most ${MAX_PAYLOAD_DEPTH} levels deep`,
  lone_surrogate: '"id" and "payload" must be well-formed Unicode (no lone surrogate escape such as \\ud800)'
}

export function parseRecord (line: string, index: number): JobRecord | RecordReason {
  let value: unknown
  try {
    value = JSON.parse(line)
  } catch {
    // Whatever JSON.parse throws (a SyntaxError, or a RangeError should a V8 ever recurse
    // on deep nesting) is this line's problem, never the stream's.
    return 'not_json'
  }
  return recordFromValue(value, index, line)
}

/**
 * Why a parsed line is no valid record, or null: the upload check, which builds nothing.
 * `line`, the JSON text `value` was parsed from, lets an ordinary object payload skip the
 * walk over its strings and levels; without it the walk always runs.
 */
export function recordProblem (value: unknown, line?: string): RecordReason | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not_an_object'
  const { id, payload } = value as { id?: unknown, payload?: unknown }
  if (typeof id === 'string') {
    // Up to MAX_ID_BYTES / 3 UTF-16 units always fit: no unit takes more than 3 bytes.
    if (id.length > MAX_ID_BYTES / 3 && Buffer.byteLength(id) > MAX_ID_BYTES) return 'id_too_long'
    // Asked of the string itself: a search of the line for "\u" first cost more (measured:
    // V8's search stops at every backslash of a payload full of \" escapes).
    if (!id.isWellFormed()) return 'lone_surrogate'
  } else if (!(typeof id === 'number' && Number.isSafeInteger(id))) {
    return 'invalid_id'
  }
  if (typeof payload === 'string') return payload.isWellFormed() ? null : 'lone_surrogate'
  if (typeof payload !== 'object' || payload === null) return 'invalid_payload'
  if (line !== undefined && !mayHoldLoneSurrogate(line) && !mayNestDeeperThan(line, MAX_PAYLOAD_DEPTH + 1)) return null
  const problem = jsonValueProblem(payload, MAX_PAYLOAD_DEPTH)
  return problem === null ? null : problem === 'too_deep' ? 'payload_too_deep' : 'lone_surrogate'
}

export function recordFromValue (value: unknown, index: number, line?: string): JobRecord | RecordReason {
  const problem = recordProblem(value, line)
  if (problem !== null) return problem
  const { id, payload } = value as { id: string | number, payload: string | object }
  const idText = typeof id === 'string' ? id : String(id)
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload)
  return { index, id: headerSafeId(idText), idJson: typeof id === 'string' ? JSON.stringify(id) : idText, payload: body }
}

/** Visible ASCII except `%`: the bytes an id keeps as they are in a header. */
const HEADER_RAW = /^[\x21-\x24\x26-\x7e]*$/
const HEX = '0123456789ABCDEF'

/**
 * Ids travel in x-chronos-record-id and idempotency-key headers, which carry only visible
 * ASCII reliably. Every UTF-8 byte of the id that is not visible ASCII, and every `%`, is
 * written as %XX; everything else stays. Because `%` itself is encoded, the form is
 * one-to-one and decodeURIComponent() gives the id back: "é" -> "%C3%A9", "%C3%A9" ->
 * "%25C3%25A9" (issue 18 item 6). The integer 1 and the string "1" both give "1".
 * Never throws: a lone surrogate (refused at upload) would encode as U+FFFD's bytes.
 */
export function headerSafeId (id: string): string {
  if (HEADER_RAW.test(id)) return id
  let encoded = ''
  for (const byte of Buffer.from(id, 'utf8')) {
    encoded += byte > 0x20 && byte < 0x7f && byte !== 0x25
      ? String.fromCharCode(byte)
      : `%${HEX[byte >> 4] as string}${HEX[byte & 0x0f] as string}`
  }
  return encoded
}
