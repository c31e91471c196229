/**
 * A hand scan of JSON text as UTF-8 bytes for record-scan.ts: each function returns where a
 * token or value ends when it is valid JSON that is also safe to keep (strings well-formed,
 * nesting at most MAX_PAYLOAD_DEPTH), else -1. Nothing is built and nothing is decoded.
 *
 * Every loop stops at an LF (no token holds one) and at the end of `bytes` (undefined
 * matches no byte); callers pass bytes whose line ends in an LF or at `bytes.length`, so a
 * scan never reads into the next line.
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

/** 1 for a byte a string may hold as it is: not a quote, backslash or control character. */
export const PLAIN = new Uint8Array(256).fill(1, 0x20)
PLAIN[QUOTE] = 0
PLAIN[BACKSLASH] = 0
/** 1 after a backslash for a one-byte escape: `" \ / b f n r t`. */
const SHORT_ESCAPE = new Uint8Array(256)
for (const char of '"\\/bfnrt') SHORT_ESCAPE[char.charCodeAt(0)] = 1
/** A hex digit's value, or 16. */
const HEX = new Uint8Array(256).fill(16)
for (let digit = 0; digit < 16; digit++) {
  HEX[digit.toString(16).charCodeAt(0)] = digit
  HEX[digit.toString(16).toUpperCase().charCodeAt(0)] = digit
}
/** Open containers of the value being scanned: 1 an object, 0 an array. */
const open = new Uint8Array(MAX_PAYLOAD_DEPTH + 1)

/** Past JSON whitespace other than LF, which ends the line. */
export function skipSpace (bytes: Uint8Array, i: number, limit: number): number {
  while (i < limit) {
    const byte = bytes[i]
    if (byte !== SP && byte !== TAB && byte !== CR) break
    i++
  }
  return i
}

/**
 * Just past the well-formed string whose content starts at `i` (after its opening quote),
 * else -1. A surrogate escape passes only as a high one followed at once by a low one.
 */
export function stringEnd (bytes: Uint8Array, i: number, limit: number): number {
  for (;;) {
    // No limit test per byte: an LF or the end of `bytes` is not PLAIN, so the loop stops there.
    let byte = bytes[i] as number
    while (PLAIN[byte] === 1) byte = bytes[++i] as number
    if (byte === QUOTE) return i < limit ? i + 1 : -1
    if (byte !== BACKSLASH) return -1
    const escaped = bytes[i + 1] as number
    if (SHORT_ESCAPE[escaped] === 1) {
      i += 2
      continue
    }
    if (escaped !== LOWER_U) return -1
    const unit = hexUnit(bytes, i + 2, limit)
    if (unit < 0xd800 || unit > 0xdfff) {
      if (unit === -1) return -1
      i += 6
      continue
    }
    if (unit > 0xdbff || bytes[i + 6] !== BACKSLASH || bytes[i + 7] !== LOWER_U) return -1
    const low = hexUnit(bytes, i + 8, limit)
    if (low < 0xdc00 || low > 0xdfff) return -1
    i += 12
  }
}

/** The UTF-16 unit of the 4 hex digits at `i`, or -1. */
function hexUnit (bytes: Uint8Array, i: number, limit: number): number {
  if (i + 4 > limit) return -1
  const a = HEX[bytes[i] as number] as number
  const b = HEX[bytes[i + 1] as number] as number
  const c = HEX[bytes[i + 2] as number] as number
  const d = HEX[bytes[i + 3] as number] as number
  return (a | b | c | d) > 15 ? -1 : (a << 12) | (b << 8) | (c << 4) | d
}

/**
 * Just past the JSON value at `i`, else -1: its strings well-formed, its objects and arrays
 * nested at most MAX_PAYLOAD_DEPTH levels (the value itself is level 1).
 */
export function valueEnd (bytes: Uint8Array, i: number, limit: number): number {
  let depth = 0
  for (;;) {
    // A value starts at i.
    const byte = bytes[i]
    if (byte === QUOTE) {
      i = stringEnd(bytes, i + 1, limit)
    } else if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (depth === MAX_PAYLOAD_DEPTH) return -1
      const isObject = byte === OPEN_OBJECT
      open[depth++] = isObject ? 1 : 0
      i = skipSpace(bytes, i + 1, limit)
      if (bytes[i] === (isObject ? CLOSE_OBJECT : CLOSE_ARRAY)) {
        depth--
        i++
      } else if (isObject) {
        i = memberValueStart(bytes, i, limit)
        if (i === -1) return -1
        continue
      } else {
        continue
      }
    } else {
      i = scalarEnd(bytes, i, limit)
    }
    // A value ended just before i: close containers, or go on to the next member or element.
    for (;;) {
      if (i === -1) return -1
      if (depth === 0) return i
      i = skipSpace(bytes, i, limit)
      const next = bytes[i]
      const isObject = open[depth - 1] === 1
      if (next === COMMA) {
        i = skipSpace(bytes, i + 1, limit)
        if (isObject) i = memberValueStart(bytes, i, limit)
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
function memberValueStart (bytes: Uint8Array, i: number, limit: number): number {
  if (bytes[i] !== QUOTE) return -1
  i = stringEnd(bytes, i + 1, limit)
  if (i === -1) return -1
  i = skipSpace(bytes, i, limit)
  if (bytes[i] !== COLON) return -1
  return skipSpace(bytes, i + 1, limit)
}

/** Just past the number, true, false or null at `i`, else -1. */
function scalarEnd (bytes: Uint8Array, i: number, limit: number): number {
  const byte = bytes[i]
  if (byte === 0x74) return literalEnd(bytes, i, limit, 'true')
  if (byte === 0x66) return literalEnd(bytes, i, limit, 'false')
  if (byte === 0x6e) return literalEnd(bytes, i, limit, 'null')
  if (byte === MINUS) i++
  if (bytes[i] === ZERO) {
    i++
  } else {
    const first = i
    i = digitsEnd(bytes, i, limit)
    if (i === first) return -1
  }
  if (bytes[i] === 0x2e) {
    const first = i + 1
    i = digitsEnd(bytes, first, limit)
    if (i === first) return -1
  }
  if (bytes[i] === 0x65 || bytes[i] === 0x45) {
    i++
    if (bytes[i] === 0x2b || bytes[i] === MINUS) i++
    const first = i
    i = digitsEnd(bytes, first, limit)
    if (i === first) return -1
  }
  return i
}

export function digitsEnd (bytes: Uint8Array, i: number, limit: number): number {
  while (i < limit && (bytes[i] as number) >= ZERO && (bytes[i] as number) <= NINE) i++
  return i
}

function literalEnd (bytes: Uint8Array, i: number, limit: number, word: string): number {
  if (i + word.length > limit) return -1
  for (let k = 0; k < word.length; k++) if (bytes[i + k] !== word.charCodeAt(k)) return -1
  return i + word.length
}
