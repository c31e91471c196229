/**
 * The upload's fast path for a record line: one pass over its bytes, building nothing, that
 * proves the line is a valid record (what JSON.parse and recordProblem() would accept) or
 * gives up. It never refuses a line: anything it cannot prove good (a syntax error, a wrong
 * id or payload, an escaped member name, a repeated "id" or "payload", a surrogate escape
 * that is not a well-formed pair, nesting past MAX_PAYLOAD_DEPTH, an id that is a float, has
 * more than 15 digits or is a string written in more than MAX_ID_BYTES bytes) returns -1, and
 * the caller runs the exact check, which says why and on which line. So errors and their
 * line numbers are the exact check's; this only decides which good lines skip it
 * (docs/performance.md, "Ingest").
 *
 * The bytes must be known valid UTF-8 (the caller checked the run or the line): bytes of
 * 0x80 and up are taken as they are inside strings, and refused anywhere else.
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
 * `limit` can be read as part of the line: `bytes[limit - 1]` is an LF, or `limit` is
 * `bytes.length`.
 */
export function scanRecord (bytes: Uint8Array, start: number, limit: number): number {
  let i = skipSpace(bytes, start, limit)
  if (bytes[i] !== OPEN_OBJECT) return -1
  i = skipSpace(bytes, i + 1, limit)
  let hasId = false
  let hasPayload = false
  for (;;) {
    if (bytes[i] !== QUOTE) return -1
    const nameStart = i + 1
    const nameEnd = plainStringEnd(bytes, nameStart, limit)
    if (nameEnd === -1) return -1
    i = skipSpace(bytes, nameEnd + 1, limit)
    if (bytes[i] !== COLON) return -1
    i = skipSpace(bytes, i + 1, limit)
    const nameBytes = nameEnd - nameStart
    if (nameBytes === 2 && bytes[nameStart] === 0x69 && bytes[nameStart + 1] === 0x64) {
      if (hasId) return -1
      hasId = true
      i = idEnd(bytes, i, limit)
    } else if (nameBytes === 7 && isPayloadName(bytes, nameStart)) {
      if (hasPayload) return -1
      hasPayload = true
      const first = bytes[i]
      if (first !== QUOTE && first !== OPEN_OBJECT && first !== OPEN_ARRAY) return -1
      i = valueEnd(bytes, i, limit)
    } else {
      i = valueEnd(bytes, i, limit)
    }
    if (i === -1) return -1
    i = skipSpace(bytes, i, limit)
    const next = bytes[i]
    if (next === COMMA) {
      i = skipSpace(bytes, i + 1, limit)
    } else if (next === CLOSE_OBJECT) {
      break
    } else {
      return -1
    }
  }
  i = skipSpace(bytes, i + 1, limit)
  return hasId && hasPayload && (i === limit || bytes[i] === LF) ? i : -1
}

function isPayloadName (bytes: Uint8Array, at: number): boolean {
  return bytes[at] === 0x70 && bytes[at + 1] === 0x61 && bytes[at + 2] === 0x79 && bytes[at + 3] === 0x6c &&
    bytes[at + 4] === 0x6f && bytes[at + 5] === 0x61 && bytes[at + 6] === 0x64
}

/** Index of the quote closing a member name without escapes whose content starts at `i`, else -1. */
function plainStringEnd (bytes: Uint8Array, i: number, limit: number): number {
  while (PLAIN[bytes[i] as number] === 1) i++
  return i < limit && bytes[i] === QUOTE ? i : -1
}

/** Just past a valid id at `i` (a string of at most MAX_ID_BYTES bytes, or an integer of at most 15 digits), else -1. */
function idEnd (bytes: Uint8Array, i: number, limit: number): number {
  if (bytes[i] === QUOTE) {
    const end = stringEnd(bytes, i + 1, limit)
    // Escapes never decode to more UTF-8 bytes than they are written with.
    return end !== -1 && end - 1 - (i + 1) <= MAX_ID_BYTES ? end : -1
  }
  if (bytes[i] === MINUS) i++
  const first = i
  i = digitsEnd(bytes, i, limit)
  const digits = i - first
  if (digits === 0 || digits > MAX_ID_DIGITS || (digits > 1 && bytes[first] === ZERO)) return -1
  // A fraction or exponent may still make an integer (1.0, 1e3): the exact check decides.
  const next = bytes[i]
  return next === 0x2e || next === 0x65 || next === 0x45 ? -1 : i
}
