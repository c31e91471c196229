/**
 * A hand scan of JSON text for record-scan.ts: each function returns where a token or value
 * ends when it is valid JSON that is also safe to keep (strings well-formed, nesting at most
 * MAX_PAYLOAD_DEPTH), else -1. Nothing is built.
 *
 * Every loop stops at an LF (no token holds one) and at the end of `text` (charCodeAt gives
 * NaN, which matches nothing); callers pass text whose line ends in an LF or at
 * `text.length`, so a scan never reads into the next line. Character tables cover every
 * UTF-16 unit, so a lookup is one load whatever the text holds.
 */
import { MAX_PAYLOAD_DEPTH } from '../domain/record.js'

const CR = 0x0d
const SP = 0x20
const TAB = 0x09
export const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
export const MINUS = 0x2d
export const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
export const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d
export const ZERO = 0x30
const NINE = 0x39
const LOWER_U = 0x75

const UNITS = 0x10000
/**
 * 1 for a unit a string may hold as it is: not a quote, backslash or control character. The
 * text was valid UTF-8, so a surrogate unit here is always half of a well-formed pair.
 */
export const PLAIN = new Uint8Array(UNITS).fill(1, 0x20)
PLAIN[QUOTE] = 0
PLAIN[BACKSLASH] = 0
/** 1 after a backslash for a one-character escape: `" \ / b f n r t`. */
const SHORT_ESCAPE = new Uint8Array(UNITS)
for (const char of '"\\/bfnrt') SHORT_ESCAPE[char.charCodeAt(0)] = 1
/** A hex digit's value, or 16. */
const HEX = new Uint8Array(UNITS).fill(16)
for (let digit = 0; digit < 16; digit++) {
  HEX[digit.toString(16).charCodeAt(0)] = digit
  HEX[digit.toString(16).toUpperCase().charCodeAt(0)] = digit
}
/** Open containers of the value being scanned: 1 an object, 0 an array. */
const open = new Uint8Array(MAX_PAYLOAD_DEPTH + 1)

/** Past JSON whitespace other than LF, which ends the line. */
export function skipSpace (text: string, i: number, limit: number): number {
  while (i < limit) {
    const byte = text.charCodeAt(i)
    if (byte !== SP && byte !== TAB && byte !== CR) break
    i++
  }
  return i
}

/**
 * Just past the well-formed string whose content starts at `i` (after its opening quote),
 * else -1. A surrogate escape passes only as a high one followed at once by a low one.
 */
export function stringEnd (text: string, i: number, limit: number): number {
  for (;;) {
    // No limit test per unit: an LF or the end of `text` is not PLAIN, so the loop stops there.
    let byte = text.charCodeAt(i)
    while (PLAIN[byte] === 1) byte = text.charCodeAt(++i)
    if (byte === QUOTE) return i < limit ? i + 1 : -1
    if (byte !== BACKSLASH) return -1
    const escaped = text.charCodeAt(i + 1)
    if (SHORT_ESCAPE[escaped] === 1) {
      i += 2
      continue
    }
    if (escaped !== LOWER_U) return -1
    const unit = hexUnit(text, i + 2, limit)
    if (unit < 0xd800 || unit > 0xdfff) {
      if (unit === -1) return -1
      i += 6
      continue
    }
    if (unit > 0xdbff || text.charCodeAt(i + 6) !== BACKSLASH || text.charCodeAt(i + 7) !== LOWER_U) return -1
    const low = hexUnit(text, i + 8, limit)
    if (low < 0xdc00 || low > 0xdfff) return -1
    i += 12
  }
}

/** The UTF-16 unit of the 4 hex digits at `i`, or -1. */
function hexUnit (text: string, i: number, limit: number): number {
  if (i + 4 > limit) return -1
  const a = HEX[text.charCodeAt(i)] as number
  const b = HEX[text.charCodeAt(i + 1)] as number
  const c = HEX[text.charCodeAt(i + 2)] as number
  const d = HEX[text.charCodeAt(i + 3)] as number
  return (a | b | c | d) > 15 ? -1 : (a << 12) | (b << 8) | (c << 4) | d
}

/**
 * Just past the JSON value at `i`, else -1: its strings well-formed, its objects and arrays
 * nested at most MAX_PAYLOAD_DEPTH levels (the value itself is level 1).
 */
export function valueEnd (text: string, i: number, limit: number): number {
  let depth = 0
  for (;;) {
    // A value starts at i.
    const byte = text.charCodeAt(i)
    if (byte === QUOTE) {
      i = stringEnd(text, i + 1, limit)
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (depth === MAX_PAYLOAD_DEPTH) return -1
      const isObject = byte === OPEN_OBJECT
      open[depth++] = isObject ? 1 : 0
      i = skipSpace(text, i + 1, limit)
      if (text.charCodeAt(i) === (isObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        depth--
        i++
      } else if (isObject) {
        i = memberValueStart(text, i, limit)
        if (i === -1) return -1
        continue
      } else {
        continue
      }
    } else {
      i = scalarEnd(text, i, limit)
    }
    // A value ended just before i: close containers, or go on to the next member or element.
    for (;;) {
      if (i === -1) return -1
      if (depth === 0) return i
      i = skipSpace(text, i, limit)
      const next = text.charCodeAt(i)
      const isObject = open[depth - 1] === 1
      if (next === COMMA) {
        i = skipSpace(text, i + 1, limit)
        if (isObject) i = memberValueStart(text, i, limit)
        break
      }
      if (next !== (isObject ? CLOSE_OBJECT : CLOSE_ARRAY)) return -1
      depth--
      i++
    }
    if (i === -1) return -1
  }
}

/** From a member's opening quote at `i`, where its value starts, else -1. */
function memberValueStart (text: string, i: number, limit: number): number {
  if (text.charCodeAt(i) !== QUOTE) return -1
  i = stringEnd(text, i + 1, limit)
  if (i === -1) return -1
  i = skipSpace(text, i, limit)
  if (text.charCodeAt(i) !== COLON) return -1
  return skipSpace(text, i + 1, limit)
}

/** Just past the number, true, false or null at `i`, else -1. */
function scalarEnd (text: string, i: number, limit: number): number {
  const byte = text.charCodeAt(i)
  if (byte === 0x74) return literalEnd(text, i, limit, 'true')
  if (byte === 0x66) return literalEnd(text, i, limit, 'false')
  if (byte === 0x6e) return literalEnd(text, i, limit, 'null')
  if (byte === MINUS) i++
  if (text.charCodeAt(i) === ZERO) {
    i++
  } else {
    const first = i
    i = digitsEnd(text, i, limit)
    if (i === first) return -1
  }
  if (text.charCodeAt(i) === 0x2e) {
    const first = i + 1
    i = digitsEnd(text, first, limit)
    if (i === first) return -1
  }
  if (text.charCodeAt(i) === 0x65 || text.charCodeAt(i) === 0x45) {
    i++
    if (text.charCodeAt(i) === 0x2b || text.charCodeAt(i) === MINUS) i++
    const first = i
    i = digitsEnd(text, first, limit)
    if (i === first) return -1
  }
  return i
}

export function digitsEnd (text: string, i: number, limit: number): number {
  while (i < limit && (text.charCodeAt(i)) >= ZERO && (text.charCodeAt(i)) <= NINE) i++
  return i
}

function literalEnd (text: string, i: number, limit: number, word: string): number {
  if (i + word.length > limit) return -1
  for (let k = 0; k < word.length; k++) if (text.charCodeAt(i + k) !== word.charCodeAt(k)) return -1
  return i + word.length
}
