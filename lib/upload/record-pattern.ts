/**
 * The upload's fastest path for a record line: one sticky regular expression, run on the
 * text the line validator already decodes for a run of whole lines, that proves the common
 * shape of a record line good: `{"id":<id>,"payload":<payload>}` and its LF, written
 * compactly, where the payload is a string or an object or array of strings, numbers,
 * true, false and null. V8 compiles the expression to machine code, which walks a line
 * faster than record-scan.ts's byte loop (docs/performance.md, Log, 2026-11-30).
 *
 * Like scanRecord() it never refuses a line: a line it does not match goes on to
 * scanRecord() and then to the exact check, so errors and their line numbers are the exact
 * check's. What it matches is a subset of what scanRecord() proves: an integer id of at
 * most 15 digits or a string id of at most MAX_ID_BYTES bytes without escapes, strings
 * whose surrogate escapes come in well-formed pairs, nesting of 1. Repetitions are bounded
 * (escapes per string, members per object) so that V8's backtracking stack, which keeps an
 * entry per repetition, stays small for any line; a longer line simply does not match.
 *
 * The text must be the latin1 decoding of valid UTF-8 bytes (the caller checked the run): a
 * byte of 0x80 and up is then one character that PLAIN takes inside a string and nothing
 * else takes, as scanRecord() does, and a string id's characters are its bytes.
 */
import { MAX_ID_BYTES } from '../domain/record.js'
import { scanRecord } from './record-scan.js'

/** A character a string may hold as it is: not a quote, backslash or control character. */
const PLAIN = '[^"\\\\\\x00-\\x1f]'
/** An escape: one of `" \ / b f n r t`, a \u escape of no surrogate, or a high and low surrogate pair. */
const ESCAPE = '\\\\(?:["\\\\/bfnrt]|u(?![dD][89a-fA-F])[0-9a-fA-F]{4}|u[dD][89abAB][0-9a-fA-F]{2}\\\\u[dD][c-fC-F][0-9a-fA-F]{2})'
const string = (maxEscapes: number): string => `"${PLAIN}*(?:${ESCAPE}${PLAIN}*){0,${maxEscapes}}"`
const NUMBER = '-?(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?(?:[eE][+-]?[0-9]+)?'
const MEMBER_STRING = string(16)
const SCALAR = `(?:${MEMBER_STRING}|${NUMBER}|true|false|null)`
const MAX_MEMBERS = 64
const OBJECT = `\\{(?:${MEMBER_STRING}:${SCALAR}(?:,${MEMBER_STRING}:${SCALAR}){0,${MAX_MEMBERS - 1}})?\\}`
const ARRAY = `\\[(?:${SCALAR}(?:,${SCALAR}){0,${MAX_MEMBERS - 1}})?\\]`
/** 10^15 - 1 is still a safe integer; a fraction or exponent is left to the exact check. */
const ID = `(?:-?(?:0|[1-9][0-9]{0,14})|"${PLAIN}{0,${MAX_ID_BYTES}}")`
const RECORD_LINE = new RegExp(`\\{"id":${ID},"payload":(?:${string(256)}|${OBJECT}|${ARRAY})\\}\\n`, 'y')

/** Index of the LF ending the line at `start` of `text` when the line is a record this proves good, else -1. */
export function matchRecordLine (text: string, start: number): number {
  RECORD_LINE.lastIndex = start
  return RECORD_LINE.test(text) ? RECORD_LINE.lastIndex - 1 : -1
}

/**
 * Index in `text` of the LF ending the record line at `pos` when either fast path proves it
 * good, else -1: matchRecordLine() on the text, then scanRecord() on the same bytes, which
 * sit at `from` in `chunk` (`limit` as scanRecord() takes it).
 */
export function provenRecordEnd (text: string, pos: number, chunk: Buffer, from: number, limit: number): number {
  const matched = matchRecordLine(text, pos)
  if (matched !== -1) return matched
  const scanned = scanRecord(chunk, from + pos, limit)
  return scanned === -1 ? -1 : scanned - from
}
