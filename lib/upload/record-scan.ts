/**
 * The upload's fast path for a record line: one pass over its text, building nothing, that
 * proves the line is a valid record (what JSON.parse and recordProblem() would accept) or
 * gives up. It never refuses a line: anything it cannot prove good (a syntax error, a wrong
 * id or payload, an escaped member name, a repeated "id" or "payload", a surrogate escape
 * that is not a well-formed pair, nesting past MAX_PAYLOAD_DEPTH, an id that is a float or
 * has more than 15 digits) returns -1, and the caller runs the exact check, which says why
 * and on which line. So errors and their line numbers are the exact check's; this only
 * decides which good lines skip it (docs/performance.md, "Ingest").
 *
 * The text must be decoded from valid UTF-8 (the caller checked the run or the line): other
 * than ASCII, it is taken as it is inside strings and refused anywhere else.
 */
import { MAX_ID_BYTES } from '../domain/record.js'
import {
  MINUS, OPEN_ARRAY, OPEN_OBJECT, PLAIN, QUOTE, ZERO, digitsEnd, skipSpace, stringEnd, valueEnd
} from './json-scan.js'

const LF = 0x0a
const COMMA = 0x2c
const COLON = 0x3a
const CLOSE_OBJECT = 0x7d
/** Digits an integer id may have here: 10^15 - 1 is still a safe integer. */
const MAX_ID_DIGITS = 15

/**
 * Where the record line starting at `start` ends (the index of its LF, or `limit`) when the
 * line is provably a valid record, else -1. The caller guarantees that nothing at or past
 * `limit` can be read as part of the line: its unit at `limit - 1` is an LF, or
 * `limit` is `text.length`.
 */
export function scanRecord (text: string, start: number, limit: number): number {
  let i = skipSpace(text, start, limit)
  if (text.charCodeAt(i) !== OPEN_OBJECT) return -1
  i = skipSpace(text, i + 1, limit)
  let hasId = false
  let hasPayload = false
  for (;;) {
    if (text.charCodeAt(i) !== QUOTE) return -1
    const nameStart = i + 1
    const nameEnd = plainStringEnd(text, nameStart, limit)
    if (nameEnd === -1) return -1
    i = skipSpace(text, nameEnd + 1, limit)
    if (text.charCodeAt(i) !== COLON) return -1
    i = skipSpace(text, i + 1, limit)
    const nameBytes = nameEnd - nameStart
    if (nameBytes === 2 && text.charCodeAt(nameStart) === 0x69 && text.charCodeAt(nameStart + 1) === 0x64) {
      if (hasId) return -1
      hasId = true
      i = idEnd(text, i, limit)
    } else if (nameBytes === 7 && isPayloadName(text, nameStart)) {
      if (hasPayload) return -1
      hasPayload = true
      const first = text.charCodeAt(i)
      if (first !== QUOTE && first !== OPEN_OBJECT && first !== OPEN_ARRAY) return -1
      i = valueEnd(text, i, limit)
    } else {
      i = valueEnd(text, i, limit)
    }
    if (i === -1) return -1
    i = skipSpace(text, i, limit)
    const next = text.charCodeAt(i)
    if (next === COMMA) {
      i = skipSpace(text, i + 1, limit)
    } else if (next === CLOSE_OBJECT) {
      break
    } else {
      return -1
    }
  }
  i = skipSpace(text, i + 1, limit)
  return hasId && hasPayload && (i === limit || text.charCodeAt(i) === LF) ? i : -1
}

function isPayloadName (text: string, at: number): boolean {
  return text.charCodeAt(at) === 0x70 && text.charCodeAt(at + 1) === 0x61 && text.charCodeAt(at + 2) === 0x79 && text.charCodeAt(at + 3) === 0x6c &&
    text.charCodeAt(at + 4) === 0x6f && text.charCodeAt(at + 5) === 0x61 && text.charCodeAt(at + 6) === 0x64
}

/** Index of the quote closing a member name without escapes whose content starts at `i`, else -1. */
function plainStringEnd (text: string, i: number, limit: number): number {
  while (PLAIN[text.charCodeAt(i)] === 1) i++
  return i < limit && text.charCodeAt(i) === QUOTE ? i : -1
}

/**
 * Just past a valid id at `i`, else -1: an integer of at most 15 digits, or a string written
 * in at most MAX_ID_BYTES / 3 units (escapes only shrink it, and no unit takes more than 3
 * bytes of UTF-8, so it fits MAX_ID_BYTES; a longer one is left to the exact check).
 */
function idEnd (text: string, i: number, limit: number): number {
  if (text.charCodeAt(i) === QUOTE) {
    const end = stringEnd(text, i + 1, limit)
    return end !== -1 && end - 1 - (i + 1) <= MAX_ID_BYTES / 3 ? end : -1
  }
  if (text.charCodeAt(i) === MINUS) i++
  const first = i
  i = digitsEnd(text, i, limit)
  const digits = i - first
  if (digits === 0 || digits > MAX_ID_DIGITS || (digits > 1 && text.charCodeAt(first) === ZERO)) return -1
  // A fraction or exponent may still make an integer (1.0, 1e3): the exact check decides.
  const next = text.charCodeAt(i)
  return next === 0x2e || next === 0x65 || next === 0x45 ? -1 : i
}
